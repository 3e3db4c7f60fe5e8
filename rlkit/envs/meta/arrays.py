"""Backend-neutral array handling for task rewards: the same reward code must serve numpy (env steps, dataset files)
and torch (relabelling whole batches on any device), so inputs are brought to one backend and checked once here.

Sums over features are written out column by column, so a transition's reward is bit-identical whether it is computed
alone (in ``step``) or inside a batch of any shape (numpy's pairwise summation would differ in the last bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

Array = Any  # np.ndarray | torch.Tensor


def common_backend(*arrays: Any) -> tuple[Array, ...]:
    """All inputs in one backend: torch if any is a tensor (its device; the promoted dtype of the floating tensors,
    the default dtype if none), else float64 numpy. ``None`` entries pass through."""
    tensors = [a for a in arrays if isinstance(a, torch.Tensor)]
    if not tensors:
        return tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in arrays)
    dtype = None
    for tensor in tensors:
        if tensor.is_floating_point():
            dtype = tensor.dtype if dtype is None else torch.promote_types(dtype, tensor.dtype)
    dtype = dtype or torch.get_default_dtype()
    device = tensors[0].device
    return tuple(None if a is None else torch.as_tensor(a, dtype=dtype, device=device) for a in arrays)


def require_last_dim(name: str, array: Array, minimum: int, family: str) -> None:
    """Raise if ``array``'s last axis is shorter than ``minimum``; extra trailing features (a BAMDP flag) are fine."""
    shape = tuple(np.shape(array)) if not isinstance(array, torch.Tensor) else tuple(array.shape)
    if len(shape) == 0 or shape[-1] < minimum:
        raise ValueError(f"{family}: {name} has shape {shape}; expected (..., >={minimum})")


def squared_norm(x: Array) -> Array:
    """Sum of squares over the last axis, added column by column (the same rounding for any batch shape)."""
    total = x[..., 0] * x[..., 0]
    for i in range(1, x.shape[-1]):
        total = total + x[..., i] * x[..., i]
    return total


def euclidean(x: Array) -> Array:
    """L2 norm over the last axis, in either backend."""
    total = squared_norm(x)
    return torch.sqrt(total) if isinstance(total, torch.Tensor) else np.sqrt(total)


def abs_sum(x: Array) -> Array:
    """L1 norm over the last axis, added column by column."""
    total = abs(x[..., 0])
    for i in range(1, x.shape[-1]):
        total = total + abs(x[..., i])
    return total


def as_float(mask: Array, like: Array) -> Array:
    """A boolean mask as 0./1. with ``like``'s backend and dtype (``like`` comes out of ``common_backend``)."""
    if isinstance(mask, torch.Tensor):
        return mask.to(like.dtype)
    return np.asarray(mask, dtype=np.float64)


def broadcast_batch(value: Array, task: Array) -> Array:
    """``value`` (...,) broadcast against the task's batch axes ``task.shape[:-1]``, for rewards that ignore the task
    (so relabelling with a batch of tasks still returns one reward per task)."""
    if isinstance(value, torch.Tensor):
        return value.expand(torch.broadcast_shapes(value.shape, task.shape[:-1])).clone()
    return np.array(np.broadcast_to(value, np.broadcast_shapes(value.shape, task.shape[:-1])))
