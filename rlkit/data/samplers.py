"""TorchRL samplers for rlkit's layout: complete transitions, and left-padded windows of K steps for transformers.

Both are ``torchrl.data.replay_buffers.Sampler`` subclasses, so they plug into ``ReplayBuffer`` /
``TensorDictReplayBuffer`` with ``TensorStorage``, ``LazyTensorStorage`` or ``LazyMemmapStorage`` and are seeded by
the buffer's ``generator=``. What they derive from the data (the rows with ``"has_next"``, the episode table) is
computed once with vectorised torch ops and recomputed only when the storage changes (its length or, where TorchRL
tracks it, its write revision), so online data added by a writer is picked up without any per-sample Python.

Windows come from the buffer as a ``(B, K)`` TensorDict; ``WindowReplayBuffer`` also zeroes the padded positions
and copies each window as one block (``gather_windows``) where a storage would gather B * K single rows.
``sample_windows`` (from ``rlkit.data.episode_index``, re-exported here) is the same path on a TensorDict, without a
buffer (see benchmarks/data_sampling.py for both against TorchRL's SliceSampler).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from tensordict import NestedKey, is_tensor_collection
from torchrl.data import TensorDictReplayBuffer
from torchrl.data.replay_buffers import Sampler, Storage, TensorStorage

from rlkit.data import keys as K
from rlkit.data.episode_index import (
    MASK_KEY,
    TIMESTEP_KEY,
    EpisodeTable,
    EpisodeWeighting,
    check_weighting,
    check_window,
    episode_table_of,
    gather_windows,
    sample_window_ends,
    sample_windows,
    window_index,
    zero_padding_,
)
from rlkit.data.errors import DatasetError

__all__ = [
    "TransitionSampler",
    "WindowSampler",
    "WindowReplayBuffer",
    # the direct path and its helpers, defined in rlkit.data.episode_index
    "episode_table_of",
    "gather_windows",
    "sample_windows",
    "zero_padding_",
    "MASK_KEY",
    "TIMESTEP_KEY",
]

_EMPTY_STORAGE = "Cannot sample from an empty storage."


class _ReplacementIsAnArgument(type(Sampler)):
    """Let ``replacement=`` reach ``__init__``: TorchRL's sampler metaclass would otherwise intercept it."""

    __call__ = type.__call__


def _storage_rows(storage: Storage, sampler: str) -> Any:
    """The stored rows [0, len) (a view, no copy), after checking that ``sampler`` can read this storage."""
    if not isinstance(storage, TensorStorage):
        raise TypeError(
            f"{sampler} needs a TensorStorage, LazyTensorStorage or LazyMemmapStorage; got {type(storage).__name__}"
        )
    if storage.ndim != 1:
        raise ValueError(f"{sampler} needs a storage with ndim=1 (one row per step); got ndim={storage.ndim}")
    if len(storage) == 0:
        raise RuntimeError(_EMPTY_STORAGE)
    return storage.get(slice(None))


def _storage_version(storage: Storage) -> tuple:
    """Changes whenever the stored rows may have changed: growth, or any write where the storage counts writes."""
    return id(storage), len(storage), getattr(storage, "_mutation_revision", None)


class TransitionSampler(Sampler, metaclass=_ReplacementIsAnArgument):
    """Uniform over the rows whose ``"has_next"`` is True (over all rows when the storage has no such key).

    Rows without a known s' (the last row of an episode ended by timeout in files without next_observations) are
    never returned, so every sample is a complete (s, a, r, s') transition. The valid rows are found once per
    storage change (one ``nonzero`` over the column); a sample is then one ``randint`` and one gather.

    Args:
        replacement: with replacement (default) each batch is i.i.d.; without, batches walk a random permutation of
            the valid rows and ``ran_out`` turns True after the last batch of each pass, as TorchRL's
            ``SamplerWithoutReplacement`` does. A storage change starts a new pass.
        drop_last: without replacement, drop the last batch of a pass when it is shorter than the batch size.
        has_next_key: the bool column that marks complete transitions.

    Example:
        >>> from torchrl.data import ReplayBuffer, TensorStorage
        >>> rb = ReplayBuffer(storage=TensorStorage(data), sampler=TransitionSampler(), batch_size=256)
        >>> batch = rb.sample()  # batch["has_next"].all() is True
    """

    def __init__(self, *, replacement: bool = True, drop_last: bool = False, has_next_key: NestedKey = K.HAS_NEXT):
        self.replacement = bool(replacement)
        self.drop_last = bool(drop_last)
        self.has_next_key = has_next_key
        self._empty()

    def _empty(self) -> None:
        self._version: tuple | None = None
        self._valid: torch.Tensor | None = None  # valid row indices; None when every row is valid
        self._count = 0
        self._order: torch.Tensor | None = None  # rows of the current pass (without replacement)
        self._cursor = 0
        self._restored_len: int | None = None
        self._ran_out = False

    def _refresh(self, storage: Storage) -> None:
        version = _storage_version(storage)
        if version == self._version:
            return
        rows = _storage_rows(storage, type(self).__name__)
        n = len(storage)
        has_next = rows.get(self.has_next_key, None) if is_tensor_collection(rows) else None
        if has_next is None:
            self._valid, self._count = None, n
        else:
            if has_next.dtype != torch.bool or has_next.numel() != n:
                raise DatasetError(
                    f"storage: {self.has_next_key!r} has dtype {has_next.dtype} and shape {tuple(has_next.shape)}; "
                    f"expected bool of shape ({n},)"
                )
            has_next = has_next.reshape(n)
            all_valid = bool(has_next.all())
            self._valid = None if all_valid else has_next.nonzero().squeeze(1)
            self._count = n if all_valid else self._valid.numel()
        if self._restored_len != n:
            self._order = None
        self._restored_len = None
        self._version = version

    def _sampleable_count(self, storage: Storage, batch_size: int) -> int:
        if len(storage) == 0:
            return 0
        self._refresh(storage)
        return self._count

    def sample(self, storage: Storage, batch_size: int) -> tuple[torch.Tensor, dict]:
        self._refresh(storage)
        if self._count == 0:
            raise RuntimeError(f"No row of the storage has {self.has_next_key!r} True: no transition to sample.")
        if not self.replacement:
            return self._next_of_pass(batch_size), {}
        device = self._valid.device if self._valid is not None else getattr(storage, "device", None)
        pos = torch.randint(self._count, (batch_size,), generator=self._rng, device=device)
        return (pos if self._valid is None else self._valid[pos]), {}

    def _next_of_pass(self, batch_size: int) -> torch.Tensor:
        if self.drop_last and self._count < batch_size:
            raise ValueError(
                f"batch_size={batch_size} exceeds the {self._count} valid rows, so drop_last=True leaves no batch"
            )
        if self._order is None:
            perm = torch.randperm(self._count, generator=self._rng)
            self._order = perm if self._valid is None else self._valid[perm.to(self._valid.device)]
            self._cursor = 0
        index = self._order[self._cursor : self._cursor + batch_size]
        self._cursor += index.numel()
        left = self._order.numel() - self._cursor
        self._ran_out = left == 0 or (self.drop_last and left < batch_size)
        self._remaining_batches = left // batch_size if self.drop_last else -(-left // batch_size)
        if self._ran_out:
            self._order = None
        return index

    @property
    def ran_out(self) -> bool:
        return self._ran_out

    def state_dict(self) -> dict[str, Any]:
        """Options and, without replacement, the rest of the current pass (so a resumed run finishes it)."""
        order = None if self._order is None else self._order[self._cursor :].clone()
        return OrderedDict(
            replacement=self.replacement,
            drop_last=self.drop_last,
            pass_rows=order,
            storage_len=self._version[1] if self._version is not None else -1,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._empty()
        self.replacement = bool(state_dict["replacement"])
        self.drop_last = bool(state_dict["drop_last"])
        order = state_dict.get("pass_rows")
        if order is not None and order.numel() > 0:
            self._order, self._cursor = order.clone(), 0
            self._restored_len = int(state_dict["storage_len"])

    def dumps(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), path / "transition_sampler.pt")

    def loads(self, path: str | Path) -> None:
        self.load_state_dict(torch.load(Path(path) / "transition_sampler.pt", weights_only=True))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(replacement={self.replacement}, valid_rows={self._count})"


class WindowSampler(Sampler):
    """Windows of ``window`` consecutive steps of one episode, left-padded, as decision transformers train on.

    A window ending at step t of an episode covers steps [t - window + 1, t]; positions before the episode's first
    stored row are padding. ``sample`` returns a ``(B, window)`` row index (TensorStorage gathers it into a
    ``(B, window)`` TensorDict) and an info dict with ``mask_key`` (bool, True on real steps) and ``timestep_key``
    (int64 step within the episode, 0 on padding). The padded positions of the index point at the window's first
    real row, so a plain buffer never returns data of another episode; ``WindowReplayBuffer`` (or
    ``zero_padding_``) sets them to zero and adds the mask and timesteps to the sample.

    Window ends: every stored step can end a window. ``episode_weighting="length"`` (default) draws the end
    uniformly over all steps, i.e. episodes in proportion to their length as the original ODT does;
    ``"uniform"`` draws the episode uniformly, then the end uniformly within it. Override ``_window_ends`` for
    another distribution.

    Episodes are runs of consecutive rows with equal ``episode_key`` (see ``rlkit.data.episode_index``); the table
    of runs is rebuilt when the storage changes. ``step_key`` (optional in the storage) lets timesteps continue the
    stored step count when an episode's first rows were overwritten.

    Example:
        >>> rb = WindowReplayBuffer(storage=TensorStorage(data), sampler=WindowSampler(20), batch_size=256)
        >>> batch = rb.sample()  # batch_size (256, 20); batch["mask"], batch["timestep"]
    """

    def __init__(
        self,
        window: int,
        *,
        episode_weighting: EpisodeWeighting = "length",
        episode_key: NestedKey = K.EPISODE,
        step_key: NestedKey | None = K.STEP,
        mask_key: NestedKey = MASK_KEY,
        timestep_key: NestedKey = TIMESTEP_KEY,
    ):
        check_window(window)
        check_weighting(episode_weighting)
        self.window = window
        self.episode_weighting = episode_weighting
        self.episode_key = episode_key
        self.step_key = step_key
        self.mask_key = mask_key
        self.timestep_key = timestep_key
        self._empty()

    def _empty(self) -> None:
        self._version: tuple | None = None
        self._table: EpisodeTable | None = None

    def episode_table(self, storage: Storage) -> EpisodeTable:
        """The table of episode runs of ``storage``, rebuilt only when the storage changed since the last call."""
        version = _storage_version(storage)
        if version != self._version or self._table is None:
            rows = _storage_rows(storage, type(self).__name__)
            self._table = episode_table_of(rows, self.episode_key, self.step_key, source="storage")
            self._version = version
        return self._table

    def _window_ends(self, table: EpisodeTable, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Last row of each window and the index of its episode run in ``table``: two (batch_size,) int64."""
        return sample_window_ends(table, batch_size, weighting=self.episode_weighting, generator=self._rng)

    def sample(self, storage: Storage, batch_size: int) -> tuple[torch.Tensor, dict]:
        table = self.episode_table(storage)
        ends, episodes = self._window_ends(table, batch_size)
        index, mask, timestep = window_index(table, ends, episodes, self.window)
        return index, {self.mask_key: mask, self.timestep_key: timestep}

    def _sampleable_count(self, storage: Storage, batch_size: int) -> int:
        return len(storage)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        return

    def dumps(self, path: str | Path) -> None:
        return  # stateless: the episode table is rebuilt from the storage

    def loads(self, path: str | Path) -> None:
        return

    def __repr__(self) -> str:
        return f"{type(self).__name__}(window={self.window}, episode_weighting={self.episode_weighting!r})"


class WindowReplayBuffer(TensorDictReplayBuffer):
    """A ``TensorDictReplayBuffer`` for a ``WindowSampler``: samples are ``(B, K)`` with left padding zeroed.

    Takes the same arguments as ``TensorDictReplayBuffer``. Each sample carries the sampler's mask and timestep
    keys and ``"index"`` (the (B, K) storage rows; padded positions repeat the window's first real row).

    On a one-dimensional TensorStorage the windows are copied as one block each (``gather_windows``) instead of
    the storage's gather of B * K single rows, which is where most of a window batch's time went; locks,
    prefetching and transforms of the buffer work as usual.
    """

    def __init__(self, *, sampler: WindowSampler, **kwargs: Any):
        if not isinstance(sampler, WindowSampler):
            raise TypeError(f"WindowReplayBuffer needs a WindowSampler; got {type(sampler).__name__}")
        super().__init__(sampler=sampler, **kwargs)

    def _sample(self, batch_size: int) -> tuple[Any, dict]:
        sampler: WindowSampler = self._sampler
        if self._sample_unit is not None or not isinstance(self._storage, TensorStorage) or self._storage.ndim != 1:
            data, info = super()._sample(batch_size)
            zero_padding_(data, info[sampler.mask_key])
            return data, info
        with self._replay_lock, self._write_lock:
            index, info = sampler.sample(self._storage, batch_size)
            info["index"] = index
            if self._writer.tracks_generations:
                info["index_generation"] = self._writer.generations_of(index)
            rows = self._storage.get(slice(None))
            data = gather_windows(
                rows,
                index,
                info[sampler.mask_key],
                info[sampler.timestep_key],
                mask_key=sampler.mask_key,
                timestep_key=sampler.timestep_key,
            )
        if self._transform is not None and len(self._transform):
            with data.unlock_():
                data = self._transform(data)
        return data, info
