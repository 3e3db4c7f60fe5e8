"""Per-episode returns-to-go of a flat table of steps, vectorised over all episodes at once.

A decision transformer is conditioned on the hindsight return-to-go G_t = sum_{j >= t} gamma^(j - t) r_j, summed
to the end of the step's own episode (a run of equal consecutive ``"episode"`` ids, as in
``rlkit.data.episode_index``). Datasets hold millions of steps, so neither a Python loop per step nor one per episode
is affordable:

- undiscounted (gamma = 1): one reverse cumulative sum over the whole column, in float64, minus its value just past
  each episode's last row;
- discounted: a segmented scan by doubling. After pass k each row holds the discounted sum of the next 2^k rows of
  its episode, so ceil(log2(longest episode)) passes of whole-column tensor work finish it. Unlike rescaling by
  gamma^-t it never overflows, however long the episode.
"""

from __future__ import annotations

import math

import torch

from rlkit.data.episode_index import EpisodeTable


def _reward_column(rewards: torch.Tensor) -> torch.Tensor:
    if not isinstance(rewards, torch.Tensor):
        raise TypeError(f"rewards must be a tensor, got {type(rewards).__name__}")
    if rewards.ndim == 2 and rewards.shape[1] == 1:
        rewards = rewards.squeeze(1)
    if rewards.ndim != 1:
        raise ValueError(f"rewards has shape {tuple(rewards.shape)}; expected (N,) or (N, 1)")
    if not rewards.is_floating_point():
        rewards = rewards.to(torch.float32)
    return rewards


def _table_for(rewards: torch.Tensor, episode: torch.Tensor | EpisodeTable) -> EpisodeTable:
    table = episode if isinstance(episode, EpisodeTable) else EpisodeTable.from_episode_ids(episode, source="returns")
    if table.num_rows != rewards.shape[0]:
        raise ValueError(f"rewards has {rewards.shape[0]} rows but the episode ids cover {table.num_rows}")
    return table


def last_row_of_each_row(table: EpisodeTable) -> torch.Tensor:
    """For every row, the index of the last row of its episode: int64 (N,)."""
    last = table.starts + table.lengths - 1
    return torch.repeat_interleave(last, table.lengths, output_size=table.num_rows)


def episode_returns(rewards: torch.Tensor, episode: torch.Tensor | EpisodeTable) -> torch.Tensor:
    """Undiscounted return of each episode (run of equal ids), in row order: float64 (E,)."""
    rewards = _reward_column(rewards)
    table = _table_for(rewards, episode)
    totals = torch.cat([rewards.new_zeros(1, dtype=torch.float64), rewards.to(torch.float64).cumsum(0)])
    starts = table.starts.to(rewards.device)
    return totals[starts + table.lengths.to(rewards.device)] - totals[starts]


def returns_to_go(
    rewards: torch.Tensor, episode: torch.Tensor | EpisodeTable, *, gamma: float = 1.0
) -> torch.Tensor:
    """G_t = sum over the rest of t's episode of gamma^(j - t) r_j, for every row: float64 of shape (N,).

    rewards: (N,) or (N, 1). episode: the (N,) episode-id column, or an ``EpisodeTable`` already built from it.
    Computed in float64 (cast the result to what you store); callers check finiteness after any scaling.
    """
    gamma = float(gamma)
    if not (0.0 <= gamma <= 1.0):
        raise ValueError(f"gamma={gamma}; expected a discount in [0, 1]")
    rewards = _reward_column(rewards)
    table = _table_for(rewards, episode)
    values = rewards.to(torch.float64)
    last = last_row_of_each_row(table).to(values.device)
    if gamma == 1.0:
        suffix = values.flip(0).cumsum(0).flip(0)  # suffix[i] = sum of values[i:]
        past_end = torch.cat([suffix[1:], suffix.new_zeros(1)])  # suffix[i + 1], 0 past the table's end
        return suffix - past_end[last]
    return _discounted_scan(values, last, gamma, int(table.lengths.max()))


def _discounted_scan(values: torch.Tensor, last: torch.Tensor, gamma: float, longest: int) -> torch.Tensor:
    n = values.shape[0]
    rows = torch.arange(n, device=values.device)
    out = values.clone()
    span = 1
    for _ in range(math.ceil(math.log2(longest)) if longest > 1 else 0):
        partner = rows + span
        inside = partner <= last  # the partner row lies in the same episode
        partner = torch.where(inside, partner, rows)
        out = out + torch.where(inside, out[partner] * gamma**span, out.new_zeros(()))
        span *= 2
    return out


def next_returns_to_go(rtg: torch.Tensor, episode: torch.Tensor | EpisodeTable) -> torch.Tensor:
    """The return-to-go of the following row of the same episode, 0 after an episode's last row: same shape as rtg.

    With undiscounted returns this is rtg - reward, taken from the stored values so that a window shifted by one
    step reads exactly the RTG stored at t + 1.
    """
    column = rtg.squeeze(1) if rtg.ndim == 2 and rtg.shape[1] == 1 else rtg
    if column.ndim != 1:
        raise ValueError(f"rtg has shape {tuple(rtg.shape)}; expected (N,) or (N, 1)")
    table = _table_for(column, episode)
    is_last = torch.zeros(column.shape[0], dtype=torch.bool, device=column.device)
    is_last[(table.starts + table.lengths - 1).to(column.device)] = True
    shifted = torch.cat([column[1:], column.new_zeros(1)])
    return torch.where(is_last, column.new_zeros(()), shifted).reshape(rtg.shape)
