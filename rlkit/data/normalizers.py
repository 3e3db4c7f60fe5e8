"""Running mean/variance normalisers whose statistics live in module buffers.

Why buffers: a normaliser is part of the policy, so its statistics must travel with ``state_dict`` (checkpoints,
exported actors) and with ``.to(device)`` exactly like weights. ``count`` is an int64 buffer, so casting the
module to another float dtype never rounds it.

``update`` merges each batch with the parallel formula of Chan et al. (1979): for stored (n_a, mean_a, M2_a) and a
batch (n_b, mean_b, M2_b), with delta = mean_b - mean_a and n = n_a + n_b,
``mean = mean_a + delta * n_b / n`` and ``M2 = M2_a + M2_b + delta**2 * n_a * n_b / n``, where ``var = M2 / n``.
The result equals the mean and *population* variance (``correction=0``) of all rows seen, however they were
batched; the merge is computed in float64 and stored in the buffers' dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch import nn

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError


class RunningMeanStd(nn.Module):
    """Track the mean and variance of vectors of ``shape``; ``normalize`` maps x to ``(x - mean) / sqrt(var + eps)``.

    epsilon: added to the variance, so constant features normalise to 0 rather than dividing by zero.
    clip: if set, normalised values are clamped to ``[-clip, clip]`` (``denormalize`` does not undo the clamp).
    check_finite: reject batches holding NaN/inf in ``update`` (one host sync per update); a single NaN would
        otherwise poison the statistics for the rest of the run.
    """

    mean: torch.Tensor
    var: torch.Tensor
    count: torch.Tensor

    def __init__(
        self,
        shape: int | Sequence[int],
        epsilon: float = 1e-8,
        clip: float | None = None,
        dtype: torch.dtype = torch.float32,
        check_finite: bool = True,
    ) -> None:
        super().__init__()
        self.shape = torch.Size([shape] if isinstance(shape, int) else shape)
        if epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        if clip is not None and clip <= 0:
            raise ValueError(f"clip must be > 0 or None, got {clip}")
        self.epsilon, self.clip, self.check_finite = float(epsilon), clip, check_finite
        self.register_buffer("mean", torch.zeros(self.shape, dtype=dtype))
        self.register_buffer("var", torch.ones(self.shape, dtype=dtype))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    @classmethod
    def from_data(cls, data: torch.Tensor, **kwargs: Any) -> RunningMeanStd:
        """Build a normaliser of shape ``data.shape[1:]`` holding the statistics of ``data``'s rows."""
        if data.ndim < 1:
            raise ValueError(f"data must have a leading batch dimension, got shape {tuple(data.shape)}")
        kwargs.setdefault("dtype", data.dtype if data.is_floating_point() else torch.float32)
        normalizer = cls(tuple(data.shape[1:]), **kwargs).to(data.device)
        normalizer.update(data)
        return normalizer

    def _rows(self, batch: torch.Tensor, name: str = "batch") -> torch.Tensor:
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(batch).__name__}")
        trailing = batch.shape[batch.ndim - len(self.shape):] if batch.ndim >= len(self.shape) else None
        if trailing != self.shape:
            expected = ", ".join(map(str, self.shape))
            raise ValueError(f"{name} has shape {tuple(batch.shape)}; expected (..., {expected})")
        return batch.reshape(-1, *self.shape)

    @torch.no_grad()
    def update(self, batch: torch.Tensor) -> None:
        """Merge the rows of ``batch`` (shape ``(..., *shape)``) into the running statistics."""
        rows = self._rows(batch).to(device=self.mean.device, dtype=torch.float64)
        n_b = rows.shape[0]
        if n_b == 0:
            return
        if self.check_finite and not bool(torch.isfinite(rows).all()):
            bad = (~torch.isfinite(rows)).reshape(n_b, -1).any(dim=1).nonzero()[0, 0]
            raise ValueError(f"batch row {int(bad)} holds NaN or inf; refusing to update the normaliser with it")
        mean_b = rows.mean(dim=0)
        m2_b = ((rows - mean_b) ** 2).sum(dim=0)
        n_a = self.count.to(torch.float64)
        n = n_a + n_b
        mean_a = self.mean.to(torch.float64)
        delta = mean_b - mean_a
        m2 = self.var.to(torch.float64) * n_a + m2_b + delta**2 * n_a * n_b / n
        self.mean.copy_(mean_a + delta * n_b / n)
        self.var.copy_(m2 / n)
        self.count += n_b

    @property
    def std(self) -> torch.Tensor:
        return torch.sqrt(self.var + self.epsilon)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / sqrt(var + epsilon)``, clamped to ``[-clip, clip]`` when ``clip`` is set."""
        self._rows(x, "input")
        out = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return out.clamp(-self.clip, self.clip) if self.clip is not None else out

    def denormalize(self, y: torch.Tensor) -> torch.Tensor:
        """Inverse of ``normalize`` (before clipping): ``y * sqrt(var + epsilon) + mean``."""
        self._rows(y, "input")
        return y * self.std.to(y.dtype) + self.mean.to(y.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(x)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.shape)}, epsilon={self.epsilon}, clip={self.clip}"


class ObservationNormalizer(RunningMeanStd, TensorDictModuleBase):
    """A ``RunningMeanStd`` that normalises TensorDict entries, for use in ``TensorDictSequential`` pipelines.

    ``forward(td)`` writes ``normalize(td[in_key])`` to the matching out_key for every pair (by default the
    observation and next observation, in place; keys absent from ``td`` are skipped, so rollouts without
    ``("next", "observation")`` pass through); ``update`` also accepts a TensorDict and then reads the first
    in_key. All keys share one set of statistics.
    """

    def __init__(
        self,
        shape: int | Sequence[int],
        in_keys: Sequence[Any] = (K.OBS, K.NEXT_OBS),
        out_keys: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(shape, **kwargs)
        self.in_keys = list(in_keys)
        self.out_keys = list(out_keys) if out_keys is not None else list(in_keys)
        if len(self.in_keys) != len(self.out_keys) or not self.in_keys:
            raise ValueError(f"in_keys {self.in_keys} and out_keys {self.out_keys} must be non-empty and equally long")

    @classmethod
    def from_data(cls, data: torch.Tensor | TensorDictBase, **kwargs: Any) -> ObservationNormalizer:
        """Statistics of a tensor's rows, or of ``data[in_keys[0]]`` (default ``"observation"``) for a TensorDict."""
        if isinstance(data, TensorDictBase):
            key = list(kwargs.get("in_keys", (K.OBS,)))[0]
            if key not in data.keys(include_nested=True):
                raise DatasetError(f"TensorDict has no key {key!r}; it has {list(data.keys(True, True))}")
            data = data.get(key)
        return super().from_data(data, **kwargs)  # type: ignore[return-value]

    def update(self, batch: torch.Tensor | TensorDictBase) -> None:
        if isinstance(batch, TensorDictBase):
            batch = batch.get(self.in_keys[0])
        super().update(batch)

    def forward(self, td: TensorDictBase) -> TensorDictBase:  # type: ignore[override]
        for in_key, out_key in zip(self.in_keys, self.out_keys):
            if in_key in td.keys(include_nested=True):
                td.set(out_key, self.normalize(td.get(in_key)))
        return td
