"""Offline/online mixing: every batch takes a fixed share from an offline buffer and the rest from an online one.

Offline-to-online methods (RLPD, Cal-QL, ODT finetuning) keep the dataset and the agent's new experience in two
buffers and draw a fixed fraction of every batch from each ("symmetric sampling" is 50/50). The split is exact per
batch, not per expectation, so small batches keep the intended ratio too. ``offline_fraction`` can be set at any
time, which is how a schedule anneals it (e.g. ``mixed.offline_fraction = max(0.0, 0.5 * (1 - step / n))``).

TorchRL 0.14's ``OfflineToOnlineReplayBuffer`` does the same split over a dataset and an online storage; this
class takes any two replay buffers (each with its own sampler: prioritized, windows, ...), tags each row's source,
returns priorities to the buffer each row came from, and allows the fractions 0 and 1.

Example::

    offline = TensorDictReplayBuffer(storage=LazyTensorStorage(len(dataset)))
    offline.extend(dataset)
    online = TensorDictReplayBuffer(storage=LazyTensorStorage(1_000_000))
    mixed = MixedReplay(offline, online, offline_fraction=0.5, batch_size=256)
    mixed.extend(collected)   # goes to the online buffer (so a collector can write into `mixed`)
    batch = mixed.sample()    # 128 offline rows, then 128 online rows; batch["is_online"] tells which
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.utils import NestedKey


class MixedReplay:
    """Sample from two TorchRL replay buffers in a fixed proportion and tag each row with its source.

    Args:
        offline: the buffer holding the dataset (any TorchRL replay buffer whose samples are TensorDicts).
        online: the buffer that receives new experience; :meth:`extend` and :meth:`add` write here.
        offline_fraction: share of each batch drawn from ``offline``, in ``[0, 1]``; settable at any time.

    Keyword Args:
        batch_size: default batch size of :meth:`sample`.
        source_key: key of the boolean tag (True for rows from ``online``), with the batch's shape. A value
            already stored under this key in the data is overwritten by the tag.
        keys: if given, only these keys of each sample are kept before concatenating (e.g. to drop the
            ``("collector", "traj_ids")`` a TorchRL collector adds to online data only). Keep ``"index"`` (and
            ``"priority_weight"``) when priorities are sent back with :meth:`update_tensordict_priority`.

    Split of a batch of ``B`` rows (see :meth:`split`):
        * ``n_offline = floor(B * offline_fraction + 0.5)`` (round half up: 50/50 of an odd batch gives the extra
          row to ``offline``), the rest from ``online``;
        * when ``0 < offline_fraction < 1``, both buffers hold data and ``B >= 2``, each side gets at least 1 row;
        * while ``online`` is empty (before the first collection), the whole batch comes from ``offline``, unless
          ``offline_fraction == 0``, which asks for online rows only and raises instead;
        * a buffer that must supply rows but is empty raises ``RuntimeError``.

    Rows come offline first, then online. Both samples must have the same keys, and each key the same dtype and
    per-row shape; otherwise a ``ValueError`` names the keys that differ.
    """

    def __init__(
        self,
        offline: Any,
        online: Any,
        offline_fraction: float = 0.5,
        *,
        batch_size: int | None = None,
        source_key: NestedKey = "is_online",
        keys: Sequence[NestedKey] | None = None,
    ) -> None:
        for name, buffer in (("offline", offline), ("online", online)):
            if not (hasattr(buffer, "sample") and hasattr(buffer, "__len__")):
                raise TypeError(
                    f"MixedReplay: {name} must be a TorchRL replay buffer (with sample() and len()), "
                    f"got {type(buffer).__name__}"
                )
        if not (hasattr(online, "extend") and hasattr(online, "add")):
            raise TypeError(f"MixedReplay: online must accept writes (extend/add), got {type(online).__name__}")
        self._offline = offline
        self._online = online
        self.offline_fraction = offline_fraction
        self._batch_size = None if batch_size is None else _check_batch_size(batch_size)
        self._source_key = source_key
        self._keys = None if keys is None else list(keys)

    # ------------------------------------------------------------------ configuration
    @property
    def offline_fraction(self) -> float:
        return self._offline_fraction

    @offline_fraction.setter
    def offline_fraction(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
            raise ValueError(f"MixedReplay: offline_fraction must be a number in [0, 1], got {value!r}")
        self._offline_fraction = float(value)

    @property
    def batch_size(self) -> int | None:
        return self._batch_size

    @property
    def source_key(self) -> NestedKey:
        return self._source_key

    @property
    def offline(self) -> Any:
        return self._offline

    @property
    def online(self) -> Any:
        return self._online

    # ------------------------------------------------------------------ what a collector needs
    @property
    def storage(self) -> Any:
        """The online buffer's storage (a collector writing into this object aligns devices with it)."""
        return self._online.storage

    @property
    def write_count(self) -> int:
        """Items written to the online buffer (collectors use it to count random frames)."""
        return self._online.write_count

    def extend(self, data: Any, **kwargs: Any) -> torch.Tensor:
        """Write ``data`` to the online buffer (keyword arguments are passed on); returns its indices there."""
        return self._online.extend(data, **kwargs)

    def add(self, data: Any) -> Any:
        """Write one item to the online buffer; returns its index there."""
        return self._online.add(data)

    def __len__(self) -> int:
        return len(self._offline) + len(self._online)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(offline_fraction={self._offline_fraction}, offline={len(self._offline)} items, "
            f"online={len(self._online)} items, batch_size={self._batch_size}, source_key={self._source_key!r})"
        )

    # ------------------------------------------------------------------ sampling
    def split(self, batch_size: int) -> tuple[int, int]:
        """``(n_offline, n_online)`` for a batch of ``batch_size`` given the current fraction and buffer sizes."""
        batch_size = _check_batch_size(batch_size)
        fraction = self._offline_fraction
        offline_len, online_len = len(self._offline), len(self._online)
        if online_len == 0:
            if fraction == 0.0:
                raise RuntimeError(
                    "MixedReplay: offline_fraction is 0 (online rows only) but the online buffer is empty"
                )
            n_offline = batch_size
        else:
            n_offline = math.floor(batch_size * fraction + 0.5)
            if 0.0 < fraction < 1.0 and offline_len > 0 and batch_size >= 2:
                n_offline = min(max(n_offline, 1), batch_size - 1)
        if n_offline > 0 and offline_len == 0:
            raise RuntimeError(
                f"MixedReplay: {n_offline} of {batch_size} rows must come from the offline buffer "
                f"(offline_fraction={fraction}) but it is empty"
            )
        return n_offline, batch_size - n_offline

    def sample(self, batch_size: int | None = None) -> TensorDictBase:
        """A ``[batch_size]`` TensorDict: :meth:`split` rows from each buffer, offline first, tagged by source."""
        if batch_size is None:
            batch_size = self._batch_size
        if batch_size is None:
            raise ValueError("MixedReplay.sample: pass batch_size here or to MixedReplay(..., batch_size=...)")
        n_offline, n_online = self.split(batch_size)
        parts, tags = [], []
        for name, buffer, count, is_online in (
            ("offline", self._offline, n_offline, False),
            ("online", self._online, n_online, True),
        ):
            if count == 0:
                continue
            part = buffer.sample(count)
            if not isinstance(part, TensorDictBase):
                raise TypeError(
                    f"MixedReplay: the {name} buffer returned a {type(part).__name__}; expected a TensorDict "
                    "(use TensorDict data or a TensorDictReplayBuffer)"
                )
            if self._keys is not None:
                missing = [str(key) for key in self._keys if key not in part.keys(include_nested=True)]
                if missing:
                    raise KeyError(f"MixedReplay: the {name} sample has no key(s) {', '.join(missing)} named in keys")
                part = part.select(*self._keys)
            parts.append(part)
            tags.append(torch.full((part.shape[0],), is_online, dtype=torch.bool, device=part.device))
        if len(parts) == 2:
            _check_same_layout(parts[0], parts[1])
            out = torch.cat(parts, 0)
        else:
            out = parts[0]
        tag = torch.cat(tags, 0) if len(tags) == 2 else tags[0]
        tag = tag.reshape(-1, *([1] * (out.ndim - 1))).expand(out.batch_size)
        out.set(self._source_key, tag)
        return out

    def update_tensordict_priority(self, data: TensorDictBase) -> None:
        """Send a sampled batch's priorities back to the buffer each row came from (buffers without priorities
        are skipped). ``data`` must carry the source tag and each buffer's ``"index"``, as :meth:`sample` gives."""
        tag = data.get(self._source_key, None)
        if tag is None:
            raise KeyError(
                f"MixedReplay.update_tensordict_priority: data has no {self._source_key!r} key; pass a batch "
                "returned by MixedReplay.sample"
            )
        row_is_online = tag.reshape(tag.shape[0], -1)[:, 0]
        for buffer, rows in ((self._offline, ~row_is_online), (self._online, row_is_online)):
            if hasattr(buffer, "update_tensordict_priority") and bool(rows.any()):
                buffer.update_tensordict_priority(data[rows])


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"MixedReplay: batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def _check_same_layout(offline: TensorDictBase, online: TensorDictBase) -> None:
    """Raise a ValueError naming every key whose presence, dtype or per-row shape differs between the samples."""
    offline_leaves = {key: offline.get(key) for key in offline.keys(include_nested=True, leaves_only=True)}
    online_leaves = {key: online.get(key) for key in online.keys(include_nested=True, leaves_only=True)}
    problems = []
    only_offline = sorted(map(str, offline_leaves.keys() - online_leaves.keys()))
    only_online = sorted(map(str, online_leaves.keys() - offline_leaves.keys()))
    if only_offline:
        problems.append(f"only in the offline sample: {', '.join(only_offline)}")
    if only_online:
        problems.append(f"only in the online sample: {', '.join(only_online)}")
    for key in offline_leaves.keys() & online_leaves.keys():
        a, b = offline_leaves[key], online_leaves[key]
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            continue
        if a.dtype != b.dtype or a.shape[1:] != b.shape[1:]:
            problems.append(
                f"{key!s}: offline {a.dtype} {tuple(a.shape[1:])} vs online {b.dtype} {tuple(b.shape[1:])} per row"
            )
    if problems:
        raise ValueError(
            "MixedReplay: the offline and online samples cannot be concatenated; "
            + "; ".join(problems)
            + " (sampler info such as 'priority_weight' only appears when a buffer's sampler is prioritized;"
            " MixedReplay(..., keys=[...]) keeps only the keys you name)"
        )
