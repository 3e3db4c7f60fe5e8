"""Exponential moving average of a module's parameters: GOM's only "target network" (rate 0.995 per update).

The original keeps ``ema = rate * ema + (1 - rate) * params`` after every optimiser step and samples Bellman
targets and plans from the EMA parameters. Here the average lives in an ordinary module (``target``), so it is
saved by ``state_dict``, moved by ``.to`` and used like any network; :class:`EMA` only knows how to update it, in
one ``torch._foreach_lerp_`` over all parameters (no per-tensor Python work, no host sync).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``target``'s parameters an exponential moving average of ``source``'s.

    Args:
        source: the trained module.
        rate: weight of the old average per update (0.995 in GOM).
        target: the averaged module; default a frozen ``copy.deepcopy(source)``. It must have source's structure.

    Parameters are averaged by :meth:`update`; buffers (constants such as schedules and scalings) are copied by
    :meth:`copy_` only.

    Example:
        >>> online = nn.Linear(2, 2); ema = EMA(online, rate=0.9)
        >>> ema.update()  # after each optimiser step
        >>> ema.target(torch.zeros(1, 2)).shape
        torch.Size([1, 2])
    """

    def __init__(self, source: nn.Module, rate: float = 0.995, target: nn.Module | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"EMA: rate must be in [0, 1]; got {rate}")
        self.source, self.rate = source, float(rate)
        self.target = copy.deepcopy(source) if target is None else target
        self.target.requires_grad_(False)
        source_params, target_params = dict(source.named_parameters()), dict(self.target.named_parameters())
        if source_params.keys() != target_params.keys() or any(
                source_params[k].shape != target_params[k].shape for k in source_params):
            raise ValueError("EMA: target's parameters differ from source's in names or shapes; "
                             "make the target with copy.deepcopy(source)")
        self._source_params = list(source_params.values())
        self._target_params = [target_params[k] for k in source_params]
        self._source_buffers = [b for _, b in source.named_buffers()]
        self._target_buffers = [b for _, b in self.target.named_buffers()]

    @torch.no_grad()
    def update(self) -> None:
        """``target <- rate * target + (1 - rate) * source`` for every parameter."""
        torch._foreach_lerp_(self._target_params, self._source_params, 1.0 - self.rate)

    @torch.no_grad()
    def copy_(self) -> None:
        """Make the average equal to the source (e.g. after loading pretrained weights into the source)."""
        torch._foreach_copy_(self._target_params, self._source_params)
        if self._target_buffers:
            torch._foreach_copy_(self._target_buffers, self._source_buffers)
