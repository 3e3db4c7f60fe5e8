"""Where each episode lies in a flat table of steps, and left-padded trajectory windows drawn from it.

Window samplers need, for every sampled window, the row where its episode starts. Scanning the ``"episode"`` column
per sample would be O(N); instead ``EpisodeTable`` is built once (vectorised, O(N)) and rebuilt only when the data
changes, after which a batch of windows costs O(B log E + B * K) tensor work and no Python per sample.

An "episode" here is a run of consecutive rows with the same ``"episode"`` value. A run broken by the wrap-around
of a circular replay buffer therefore counts as two runs: windows never span the wrap (positions before the run's
first stored row are padding), and they never mix rows of two episodes as long as neighbouring episodes have
different ids (rlkit's layout numbers episodes 0, 1, 2, ... and writers of online data keep counting).

``sample_windows`` draws a batch of windows straight from a TensorDict (no replay buffer): ends from
``sample_window_ends``, rows from ``window_index``, and one block copy per window (``gather_windows``).
``rlkit.data.samplers.WindowSampler`` uses the same pieces inside TorchRL replay buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from tensordict import NestedKey, TensorDictBase, is_tensor_collection

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError

EpisodeWeighting = Literal["length", "uniform"]
EPISODE_WEIGHTINGS: tuple[str, ...] = ("length", "uniform")
_RANDINT_HIGH = 2**62  # uniform integers reduced modulo an episode length: bias <= length / 2**62

MASK_KEY = "mask"
"""Default key of the window validity mask: bool (B, K), True on real steps, False on left padding."""
TIMESTEP_KEY = "timestep"
"""Default key of the window timesteps: int64 (B, K), step within the episode, 0 on left padding."""


@dataclass(frozen=True)
class EpisodeTable:
    """Start row, length and first ``"step"`` value of each run of equal episode ids, in row order.

    starts, lengths, first_steps: int64 tensors of shape (E,); ``num_rows`` = lengths.sum() = the table's row count.
    """

    starts: torch.Tensor
    lengths: torch.Tensor
    first_steps: torch.Tensor
    num_rows: int

    @classmethod
    def from_episode_ids(
        cls, episode: torch.Tensor, step: torch.Tensor | None = None, *, source: str = "<data>"
    ) -> EpisodeTable:
        """Build the table from an ``(N,)`` (or ``(N, 1)``) integer episode column, and optionally its steps.

        ``step`` (same rows) makes window timesteps continue the stored step count of a run whose first rows are
        gone (overwritten in a circular buffer); without it, timesteps count from 0 at each run's first row.
        """
        episode = _column(episode, "episode", source)
        n = episode.shape[0]
        if n == 0:
            raise DatasetError(f"{source}: 'episode' is empty; expected at least one row")
        if episode.is_floating_point() or episode.dtype == torch.bool or episode.is_complex():
            raise DatasetError(f"{source}: 'episode' has dtype {episode.dtype}; expected integer episode ids")
        changes = (episode[1:] != episode[:-1]).nonzero().squeeze(1) + 1
        starts = torch.cat([changes.new_zeros(1), changes])
        ends = torch.cat([changes, changes.new_full((1,), n)])
        if step is None:
            first_steps = torch.zeros_like(starts)
        else:
            step = _column(step, "step", source)
            if step.shape[0] != n:
                raise DatasetError(f"{source}: 'step' has {step.shape[0]} rows; expected {n} (the rows of 'episode')")
            first_steps = step[starts].to(torch.int64)
        return cls(starts=starts, lengths=ends - starts, first_steps=first_steps, num_rows=n)

    @property
    def num_episodes(self) -> int:
        return self.starts.shape[0]

    def episode_of(self, rows: torch.Tensor) -> torch.Tensor:
        """Index (into this table) of the run that holds each row."""
        return torch.searchsorted(self.starts, rows, right=True) - 1


def _column(value: torch.Tensor, name: str, source: str) -> torch.Tensor:
    if value.ndim == 2 and value.shape[1] == 1:
        value = value.squeeze(1)
    if value.ndim != 1:
        raise DatasetError(f"{source}: {name!r} has shape {tuple(value.shape)}; expected (N,) or (N, 1)")
    return value


def check_weighting(weighting: str) -> None:
    if weighting not in EPISODE_WEIGHTINGS:
        raise ValueError(f"episode_weighting={weighting!r}; expected one of {EPISODE_WEIGHTINGS}")


def check_window(window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window={window!r}; expected a positive int (the number of steps per window)")


def sample_window_ends(
    table: EpisodeTable,
    batch_size: int,
    *,
    weighting: EpisodeWeighting = "length",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Last row of each window and the run it lies in, as two ``(batch_size,)`` int64 tensors.

    Every row of every run can end a window. ``"length"``: the end row is uniform over all rows, so episodes are
    drawn in proportion to their length (what the original ODT does). ``"uniform"``: the episode is uniform over
    runs, then the end is uniform within it (short episodes are drawn as often as long ones).
    """
    check_weighting(weighting)
    device = table.starts.device
    if weighting == "length":
        ends = torch.randint(table.num_rows, (batch_size,), generator=generator, device=device)
        return ends, table.episode_of(ends)
    episodes = torch.randint(table.num_episodes, (batch_size,), generator=generator, device=device)
    offsets = torch.randint(_RANDINT_HIGH, (batch_size,), generator=generator, device=device)
    ends = table.starts[episodes] + offsets % table.lengths[episodes]
    return ends, episodes


def window_index(
    table: EpisodeTable, ends: torch.Tensor, episodes: torch.Tensor, window: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows, validity mask and timesteps of left-padded windows ending at ``ends``, each ``(B, window)``.

    Position j of a window ending at row t covers row t - window + 1 + j. Positions before the run's first row
    are padding: mask False, timestep 0, and their row is clamped to the run's first row so that gathering with
    the returned index never reads another episode (callers zero those positions).
    """
    first = table.starts[episodes].unsqueeze(1)
    offsets = torch.arange(1 - window, 1, device=ends.device)
    rows = ends.unsqueeze(1) + offsets
    mask = rows >= first
    rows = torch.maximum(rows, first)
    timestep = (rows - first + table.first_steps[episodes].unsqueeze(1)) * mask
    return rows, mask, timestep


def episode_table_of(
    data: TensorDictBase, episode_key: NestedKey = K.EPISODE, step_key: NestedKey | None = K.STEP, *, source: str
) -> EpisodeTable:
    """``EpisodeTable`` of a TensorDict of rows, with an error naming the key when the episode column is missing."""
    if not is_tensor_collection(data):
        raise DatasetError(f"{source}: holds {type(data).__name__}; windows need a TensorDict with {episode_key!r}")
    episode = data.get(episode_key, None)
    if episode is None:
        keys = sorted(map(str, data.keys(include_nested=True, leaves_only=True)))
        raise DatasetError(f"{source}: no {episode_key!r} key to find episodes by; keys are {keys}")
    step = data.get(step_key, None) if step_key is not None else None
    return EpisodeTable.from_episode_ids(episode, step, source=source)


def zero_padding_(data: TensorDictBase, mask: torch.Tensor) -> TensorDictBase:
    """Set every entry of ``data`` (batch (B, K)) to zero where ``mask`` (bool (B, K)) is False, in place."""
    pad = ~mask
    rows = pad.reshape(-1).nonzero().squeeze(1) if pad.device.type == "cpu" else None
    if rows is not None and rows.numel() == 0:
        return data
    for leaf in data.values(include_nested=True, leaves_only=True):
        if rows is not None and leaf.is_contiguous():  # zero the few padded rows instead of scanning every entry
            leaf.view(-1, *leaf.shape[2:]).index_fill_(0, rows, 0)
        else:  # sync-free on accelerators
            leaf.masked_fill_(pad.reshape(*pad.shape, *([1] * (leaf.ndim - 2))), 0)
    return data


def _copy_windows(data: TensorDictBase, index: torch.Tensor) -> TensorDictBase:
    """The K consecutive rows ending at ``index[:, -1]`` for each window, copied as one block per window.

    Each column is viewed as its (N - K + 1, K, ...) sliding windows and one ``index_select`` copies the sampled
    ones: contiguous blocks, several times faster on CPU than gathering B * K single rows. Positions that
    precede the window's episode get rows of whatever came before; the caller zeroes them. The few windows that
    would start before row 0 are copied row by row from ``index`` instead.
    """
    batch, window = index.shape
    if window > data.batch_size[0]:
        flat = index.reshape(-1)
        return data.apply(lambda x: x.index_select(0, flat).unflatten(0, (batch, window)), batch_size=[batch, window])
    first_rows = index[:, -1] - (window - 1)
    starts = first_rows.clamp(min=0)
    blocks = lambda x: x.unfold(0, window, 1).movedim(-1, 1).index_select(0, starts)
    out = data.apply(blocks, batch_size=[batch, window])
    early = (first_rows < 0).nonzero().squeeze(1)
    if early.numel():
        rows = index[early].reshape(-1)
        for key, leaf in out.items(include_nested=True, leaves_only=True):
            leaf[early] = data.get(key).index_select(0, rows).unflatten(0, (early.numel(), window))
    return out


def gather_windows(
    data: TensorDictBase,
    index: torch.Tensor,
    mask: torch.Tensor,
    timestep: torch.Tensor,
    *,
    mask_key: NestedKey = MASK_KEY,
    timestep_key: NestedKey = TIMESTEP_KEY,
) -> TensorDictBase:
    """Rows ``index`` (B, K) of ``data`` as a (B, K) TensorDict, padding zeroed, with the mask and timesteps added.

    ``index``, ``mask`` and ``timestep`` are what ``WindowSampler.sample`` (or ``window_index``) returns.
    """
    out = _copy_windows(data, index)
    zero_padding_(out, mask)
    out.set(mask_key, mask)
    out.set(timestep_key, timestep)
    return out


def sample_windows(
    data: TensorDictBase,
    table: EpisodeTable,
    batch_size: int,
    window: int,
    *,
    generator: torch.Generator | None = None,
    episode_weighting: EpisodeWeighting = "length",
    mask_key: NestedKey = MASK_KEY,
    timestep_key: NestedKey = TIMESTEP_KEY,
) -> TensorDictBase:
    """``batch_size`` windows straight from a TensorDict in rlkit's layout, without a replay buffer.

    Same windows, padding and keys as ``WindowReplayBuffer`` + ``WindowSampler``. ``table`` must be built from
    ``data`` (``episode_table_of(data, source=...)``) and rebuilt whenever ``data`` changes.

    Example:
        >>> table = episode_table_of(data, source="hopper-medium-v2")
        >>> batch = sample_windows(data, table, 256, 20, generator=torch.Generator().manual_seed(0))
    """
    if data.batch_dims != 1 or data.batch_size[0] != table.num_rows:
        raise ValueError(
            f"data has batch size {tuple(data.batch_size)} but the episode table covers {table.num_rows} rows; "
            "rebuild the table from this data"
        )
    check_window(window)
    ends, episodes = sample_window_ends(table, batch_size, weighting=episode_weighting, generator=generator)
    index, mask, timestep = window_index(table, ends, episodes, window)
    return gather_windows(data, index, mask, timestep, mask_key=mask_key, timestep_key=timestep_key)
