"""Stop training the moment a loss goes NaN or infinite, saying at which step and in which term.

Why: a NaN in one loss term silently turns every parameter into NaN a step later, and the run then burns hours
logging NaNs. Checking every term separately would cost one device-to-host sync per term; ``check_finite``
reduces all terms on the device and syncs once, and only on the (rare) failure path looks at terms one by one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from tensordict import TensorDictBase


class NonFiniteLossError(FloatingPointError):
    """A loss term was NaN or infinite; the message names the step and the term(s)."""


def _flatten_terms(losses: Mapping[Any, Any] | TensorDictBase) -> dict[str, Any]:
    if isinstance(losses, TensorDictBase):
        return {
            ".".join(key) if isinstance(key, tuple) else key: value
            for key, value in losses.items(include_nested=True, leaves_only=True)
        }
    if not isinstance(losses, Mapping):
        raise TypeError(f"losses must be a dict or TensorDict of loss terms, got {type(losses).__name__}")
    return {str(key): value for key, value in losses.items()}


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return repr(value.item())
        bad = ~torch.isfinite(value.detach())
        return f"{int(bad.sum())} non-finite of {value.numel()} values (shape {tuple(value.shape)})"
    return repr(value)


def check_finite(losses: Mapping[Any, Any] | TensorDictBase, step: int) -> None:
    """Raise ``NonFiniteLossError`` if any term of ``losses`` (tensors of any shape, or Python numbers) is not finite.

    Non-floating tensors (counters, masks) are skipped. One host sync in total, however many terms there are.
    """
    terms = _flatten_terms(losses)
    flags: list[torch.Tensor] = []
    names: list[str] = []
    bad_numbers: list[str] = []
    for name, value in terms.items():
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() or value.is_complex():
                flags.append(torch.isfinite(value.detach()).all())
                names.append(name)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                bad_numbers.append(name)
        else:
            raise TypeError(
                f"loss term {name!r} at step {step} is a {type(value).__name__}; expected a tensor or number"
            )
    bad = list(bad_numbers)
    if flags:
        device = flags[0].device
        all_ok = torch.stack([flag.to(device) for flag in flags])
        if not bool(all_ok.all()):  # the one sync
            bad += [name for name, ok in zip(names, all_ok.tolist()) if not ok]
    if bad:
        details = ", ".join(f"{name}={_describe(terms[name])}" for name in bad)
        raise NonFiniteLossError(f"non-finite loss at step {step}: {details}")
