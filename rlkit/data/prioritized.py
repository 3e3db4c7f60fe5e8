"""Prioritized experience replay (Schaul et al. 2015) as a TorchRL sampler, in plain torch.

TorchRL's own ``PrioritizedSampler`` needs its C++ segment trees, which do not load on every install
("SumSegmentTreeFp32 is not available"). This one keeps the same constructor, methods and replay-buffer hooks on top of
:class:`rlkit.data.sum_tree.SumTree`, so it drops into ``ReplayBuffer`` / ``TensorDictReplayBuffer`` unchanged::

    rb = TensorDictReplayBuffer(
        storage=LazyTensorStorage(1_000_000),
        sampler=PrioritizedSampler(1_000_000, alpha=0.6, beta=0.4),
        priority_key="td_error",
        batch_size=256,
    )
    rb.extend(data)                     # new items get the largest priority seen so far
    batch = rb.sample()                 # batch["priority_weight"]: importance weights, batch["index"]: rows
    batch["td_error"] = td_error.abs()  # after the loss
    rb.update_tensordict_priority(batch)

Sampling probability ``P(i) = (p_i + eps)^alpha / sum_j (p_j + eps)^alpha``; importance weight
``w_i = (N P(i))^-beta / max_j (N P(j))^-beta = (P(i) / min_j P(j))^-beta``, in ``(0, 1]``.

The class is registered as a virtual subclass of TorchRL's ``PrioritizedSampler``: TorchRL's buffers test
``isinstance(sampler, PrioritizedSampler)`` before they forward priorities (``update_tensordict_priority``) or seed
priorities for pre-filled storages, and registering passes those checks without inheriting any C++-backed code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torchrl.data.replay_buffers.samplers import PrioritizedSampler as _TorchRLPrioritizedSampler
from torchrl.data.replay_buffers.samplers import Sampler
from torchrl.data.replay_buffers.storages import Storage

from rlkit.data.sum_tree import SumTree, last_write_wins
from rlkit.utils.atomic import atomic_path

_REDUCTIONS = ("max", "min", "mean", "median", "sum")
_STATE_FILE = "prioritized_sampler.pt"
_STATE_VERSION = 1


class PrioritizedSampler(Sampler):
    """Proportional prioritized sampling with importance weights, a drop-in for TorchRL's ``PrioritizedSampler``.

    Args:
        max_capacity: number of storage slots that can hold a priority (the storage's ``max_size``).
        alpha: priority exponent; 0 is uniform sampling, 1 fully proportional. Can be changed at any time
            (the tree is rebuilt exactly from the raw priorities it keeps).
        beta: importance-weight exponent; 0 gives weights of 1, 1 fully corrects the sampling bias. Usually
            annealed towards 1 by setting ``sampler.beta``.
        eps: added to every priority before ``** alpha`` so that a zero TD error keeps a chance of being drawn.
        dtype: dtype of the priority tree (float64 by default: see :mod:`rlkit.data.sum_tree` on precision).
            Importance weights are always returned as float32 so they do not upcast a float32 loss.
        reduction: how ``TensorDictReplayBuffer`` reduces a multi-element priority per item
            ("max", "min", "mean", "median", "sum"), as in TorchRL.
        max_priority_within_buffer: the priority given to new items. False (default, TorchRL's default): the
            largest priority ever set since construction / :meth:`_empty`. True: the largest priority currently
            held by the other items (an O(capacity) scan per write).
        device: where the tree lives; ``None`` is the CPU.

    Keyword Args:
        weight_key: the ``info`` key (and so the sampled TensorDict key in ``TensorDictReplayBuffer``) holding
            the importance weights. ``"priority_weight"`` is what TorchRL 0.14's sampler writes and its losses
            read (``loss.tensor_keys.priority_weight``).
        branching: children per tree node (see :class:`~rlkit.data.sum_tree.SumTree`).

    Randomness: draws come from ``torch.rand`` with the generator the replay buffer hands to its sampler
    (``ReplayBuffer(..., generator=g)`` or ``rb.set_rng(g)``); without one, the global torch RNG
    (``torch.manual_seed``). TorchRL's C++-backed sampler uses NumPy's global RNG in that case instead.
    """

    def __init__(
        self,
        max_capacity: int,
        alpha: float,
        beta: float,
        eps: float = 1e-8,
        dtype: torch.dtype = torch.float64,
        reduction: str = "max",
        max_priority_within_buffer: bool = False,
        device: torch.device | str | None = None,
        *,
        weight_key: str = "priority_weight",
        branching: int = 16,
    ) -> None:
        if isinstance(max_capacity, bool) or not isinstance(max_capacity, int) or max_capacity < 1:
            raise ValueError(f"PrioritizedSampler: max_capacity must be a positive int, got {max_capacity!r}")
        _check_exponent("alpha", alpha)
        _check_exponent("beta", beta)
        if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
            raise ValueError(f"PrioritizedSampler: eps must be a finite number >= 0, got {eps!r}")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"PrioritizedSampler: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self._max_capacity = max_capacity
        self._alpha = float(alpha)
        self._beta = float(beta)
        self._eps = float(eps)
        self.dtype = dtype
        self.reduction = reduction
        self._max_priority_within_buffer = bool(max_priority_within_buffer)
        self._weight_key = weight_key
        self._tree = SumTree(max_capacity, dtype=dtype, device=device, branching=branching)
        # Raw priorities (before eps and alpha): alpha can then change exactly, and state_dict stays small.
        self._raw = torch.zeros(max_capacity, dtype=dtype, device=self._tree.device)
        self._max_raw: torch.Tensor | None = None

    # ------------------------------------------------------------------ properties
    @property
    def max_size(self) -> int:
        return self._max_capacity

    @property
    def device(self) -> torch.device:
        return self._tree.device

    @property
    def alpha(self) -> float:
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        _check_exponent("alpha", value)
        if float(value) != self._alpha:
            self._alpha = float(value)
            self._rebuild_tree()

    @property
    def beta(self) -> float:
        return self._beta

    @beta.setter
    def beta(self, value: float) -> None:
        _check_exponent("beta", value)
        self._beta = float(value)

    @property
    def weight_key(self) -> str:
        return self._weight_key

    @property
    def tree(self) -> SumTree:
        """The tree of transformed priorities ``(p + eps) ** alpha`` (read it, do not write it)."""
        return self._tree

    @property
    def default_priority(self) -> float:
        """The raw priority new items get (1.0 before any priority was set)."""
        return float(self._new_item_priority())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_capacity={self._max_capacity}, alpha={self._alpha}, beta={self._beta}, "
            f"eps={self._eps}, reduction={self.reduction}, dtype={self.dtype}, device={self.device})"
        )

    # ------------------------------------------------------------------ sampling
    def sample(self, storage: Storage, batch_size: int) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], dict]:
        """Draw ``batch_size`` indices with probability ``P(i)`` and return them with their importance weights."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"PrioritizedSampler.sample: batch_size must be a positive int, got {batch_size!r}")
        if len(storage) == 0:
            raise RuntimeError("Cannot sample from an empty storage.")
        total = self._tree.total()
        if not bool(total > 0):
            raise RuntimeError(
                f"PrioritizedSampler.sample: the storage holds {len(storage)} item(s) but none has a priority; "
                "items get one when the replay buffer writes them (mark_update) or through update_priority"
            )
        mass = torch.rand(batch_size, generator=self._rng, dtype=self._tree.dtype, device=self.device) * total
        index = self._tree.find(mass)
        # (P(i) / P_min) ** -beta == (w_i / max_j w_j) with w_i = (N P(i)) ** -beta
        weight = (self._tree[index] / self._tree.min()).pow(-self._beta).to(torch.float32)
        if storage.ndim > 1:
            index = torch.unravel_index(index, tuple(storage.shape))
        return index, {self._weight_key: weight}

    # ------------------------------------------------------------------ writes
    def add(self, index: int | torch.Tensor) -> None:
        """Called by the buffer after a write; the priority itself arrives through :meth:`mark_update`."""
        return

    def extend(self, index: torch.Tensor) -> None:
        """Called by the buffer after a write; the priority itself arrives through :meth:`mark_update`."""
        return

    def mark_update(self, index: int | torch.Tensor, *, storage: Storage | None = None) -> None:
        """Give the items just written at ``index`` the new-item priority (see ``max_priority_within_buffer``)."""
        flat = self._flat_index(index, storage)
        self.update_priority(flat, self._new_item_priority(exclude=flat), storage=storage)

    @torch.no_grad()
    def update_priority(
        self,
        index: int | torch.Tensor,
        priority: float | torch.Tensor,
        *,
        storage: Storage | None = None,
    ) -> None:
        """Set the raw priority (e.g. ``|TD error|``) of the items at ``index``.

        ``index`` may be an int, a 1-D tensor, or (for a storage with ``ndim > 1``, passed as ``storage``) a
        ``(k, ndim)`` tensor of coordinates. Entries of -1 are skipped (TorchRL's ``TensorDictMaxValueWriter``
        marks rejected items that way; other negative indices are an error). ``priority`` is one value or one per
        index; it must be finite and >= 0 (> 0 when ``eps == 0``).
        When an index repeats, its last priority wins.
        """
        flat = self._flat_index(index, storage)
        priority = torch.as_tensor(priority, device=self.device).detach()
        if priority.numel() == 1:
            priority = priority.reshape(1).expand(flat.shape)
        elif priority.numel() == flat.numel():
            priority = priority.reshape(flat.shape)
        else:
            raise ValueError(
                f"PrioritizedSampler.update_priority: got {flat.numel()} indices but priority of shape "
                f"{tuple(priority.shape)}; expected one priority or one per index"
            )
        if flat.numel() == 0:
            return
        raw = priority.to(self.dtype)
        skip = self._check(flat, raw, storage)
        if skip is not None:
            flat, raw = flat[~skip], raw[~skip]
            if flat.numel() == 0:
                return
        flat, raw = last_write_wins(flat, raw)
        self._raw.index_copy_(0, flat, raw)
        self._tree.update(flat, self._transform(raw), checked=True)
        batch_max = raw.max()
        self._max_raw = batch_max if self._max_raw is None else torch.maximum(self._max_raw, batch_max)

    def _transform(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw + self._eps).pow(self._alpha)

    def _new_item_priority(self, exclude: torch.Tensor | None = None) -> torch.Tensor:
        if not self._max_priority_within_buffer:
            if self._max_raw is None:
                return torch.ones((), dtype=self.dtype, device=self.device)
            return self._max_raw
        held = self._tree.written()
        if exclude is not None:
            held = held.index_fill(0, exclude[exclude >= 0], False)
        largest = torch.where(held, self._raw, torch.full_like(self._raw, -math.inf)).max()
        return torch.where(largest >= 0, largest, torch.ones_like(largest))

    def _flat_index(self, index: Any, storage: Storage | None) -> torch.Tensor:
        if isinstance(index, tuple):  # coordinates as returned by sample() for an N-d storage
            index = torch.stack([torch.as_tensor(i) for i in index], -1)
        index = torch.as_tensor(index, dtype=torch.long, device=self.device)
        if index.ndim <= 1:
            return index.reshape(-1)
        shape = tuple(storage.shape) if storage is not None else None
        if index.ndim != 2 or shape is None or len(shape) != index.shape[-1]:
            raise ValueError(
                f"PrioritizedSampler: got an index of shape {tuple(index.shape)}; expected an int, a 1-D tensor, or "
                f"(k, storage.ndim) coordinates together with storage= (storage shape: {shape})"
            )
        strides = torch.tensor([math.prod(shape[d + 1 :]) for d in range(len(shape))], device=self.device)
        flat = (index * strides).sum(-1)
        return torch.where((index < 0).any(-1), torch.full_like(flat, -1), flat)

    def _check(self, flat: torch.Tensor, raw: torch.Tensor, storage: Storage | None) -> torch.Tensor | None:
        """Raise on a bad index or priority; return the mask of -1 entries to skip (None if there is none).

        One host sync in the common case: both verdicts come back in a single transfer.
        """
        limit = self._max_capacity
        if storage is not None and storage.ndim == 1:
            limit = min(limit, len(storage))
        skip = flat == -1
        ok = (flat >= 0) & (flat < limit) & (raw < math.inf)
        ok &= (raw > 0) if (self._eps == 0 and self._alpha > 0) else (raw >= 0)  # NaN fails both
        any_skip, any_bad = torch.stack([skip.any(), (~(ok | skip)).any()]).tolist()
        if not any_bad:
            return skip if any_skip else None
        where = int((~(ok | skip)).nonzero()[0, 0])
        i, p = int(flat[where]), float(raw[where])
        if not 0 <= i < limit:
            why = f"the storage holds {limit} item(s)" if limit < self._max_capacity else f"max_capacity is {limit}"
            raise IndexError(f"PrioritizedSampler: index {i} is out of range [0, {limit}): {why}")
        if not (math.isfinite(p) and p >= 0):
            raise ValueError(f"PrioritizedSampler: priority {p} at index {i}; expected a finite number >= 0")
        raise ValueError(
            f"PrioritizedSampler: priority {p} at index {i} with eps={self._eps} gives probability 0; "
            "use eps > 0 or a positive priority"
        )

    def _rebuild_tree(self) -> None:
        written = self._tree.written()
        self._tree.rebuild(self._transform(self._raw), written)

    # ------------------------------------------------------------------ state
    def _empty(self) -> None:
        self._tree.clear()
        self._raw.zero_()
        self._max_raw = None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: exponents, raw priorities, which slots hold one, and the running max."""
        return {
            "version": _STATE_VERSION,
            "max_capacity": self._max_capacity,
            "alpha": self._alpha,
            "beta": self._beta,
            "eps": self._eps,
            "max_priority": None if self._max_raw is None else self._max_raw.clone(),
            "priorities": self._raw.clone(),
            "written": self._tree.written().clone(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the tree is rebuilt bit-for-bit, so sampling resumes identically."""
        missing = {"max_capacity", "alpha", "beta", "eps", "max_priority", "priorities", "written"} - set(state_dict)
        if missing:
            raise KeyError(
                f"PrioritizedSampler.load_state_dict: missing {sorted(missing)}; was it saved by "
                "rlkit.data.PrioritizedSampler.state_dict (TorchRL's sampler state has another layout)?"
            )
        if state_dict["max_capacity"] != self._max_capacity:
            raise ValueError(
                f"PrioritizedSampler.load_state_dict: saved max_capacity={state_dict['max_capacity']} but this "
                f"sampler has max_capacity={self._max_capacity}"
            )
        self._alpha = float(state_dict["alpha"])
        self._beta = float(state_dict["beta"])
        self._eps = float(state_dict["eps"])
        self._raw = state_dict["priorities"].to(device=self.device, dtype=self.dtype).clone()
        max_raw = state_dict["max_priority"]
        self._max_raw = None if max_raw is None else max_raw.to(device=self.device, dtype=self.dtype).clone()
        self._tree.rebuild(self._transform(self._raw), state_dict["written"].to(self.device))

    def dumps(self, path: str | Path) -> None:
        """Write :meth:`state_dict` under the folder ``path`` (the layout ``ReplayBuffer.dumps`` uses)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        target = path / _STATE_FILE
        with atomic_path(target) as temporary:  # a crash mid-write leaves the previous file, never half of one
            torch.save(self.state_dict(), temporary)

    def loads(self, path: str | Path) -> None:
        """Read what :meth:`dumps` wrote under the folder ``path``."""
        target = Path(path) / _STATE_FILE
        if not target.is_file():
            raise FileNotFoundError(f"PrioritizedSampler.loads: {target} does not exist; expected a file from dumps()")
        self.load_state_dict(torch.load(target, map_location=self.device, weights_only=True))


def _check_exponent(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"PrioritizedSampler: {name} must be a finite number >= 0, got {value!r}")


# TorchRL's buffers gate priority handling on isinstance(sampler, torchrl's PrioritizedSampler); see module doc.
_TorchRLPrioritizedSampler.register(PrioritizedSampler)
