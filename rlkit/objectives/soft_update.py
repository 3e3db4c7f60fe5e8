"""Polyak (soft) target updates over a module's parameters and buffers.

TorchRL's ``SoftUpdate`` works on a LossModule's functional ``target_*_params``; rlkit's losses keep their target
networks as ordinary deep-copied modules (so ``state_dict`` and ``.to(device)`` just work), which this updates.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def polyak_update_(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target <- target + tau * (source - target)`` for every parameter and floating buffer, in place.

    Integer and bool buffers (counters, masks) are copied. The two modules must have the same structure (a target
    made with ``copy.deepcopy(source)``); a mismatch raises a ValueError naming the first differing entry.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"polyak_update_: tau must be in [0, 1]; got {tau}")
    target_state = list(target.named_parameters()) + list(target.named_buffers())
    source_state = list(source.named_parameters()) + list(source.named_buffers())
    if len(target_state) != len(source_state):
        raise ValueError(f"polyak_update_: target has {len(target_state)} parameters+buffers, "
                         f"source has {len(source_state)}; make the target with copy.deepcopy(source)")
    blend_target, blend_source = [], []
    for (target_name, target_value), (source_name, source_value) in zip(target_state, source_state):
        if target_name != source_name or target_value.shape != source_value.shape:
            raise ValueError(f"polyak_update_: target entry {target_name!r} {tuple(target_value.shape)} does not match "
                             f"source entry {source_name!r} {tuple(source_value.shape)}")
        if target_value.is_floating_point():
            blend_target.append(target_value)
            blend_source.append(source_value)
        else:
            target_value.copy_(source_value)
    if blend_target:
        torch._foreach_lerp_(blend_target, blend_source, tau)
