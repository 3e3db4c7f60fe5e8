"""A replay of whole trajectories that yields decision-transformer windows, as online decision transformers use.

Online DT finetuning (ODT, ODT+TD3) keeps the last ``capacity`` trajectories, counted in trajectories, starts from
the best offline ones, and relabels every stored step with its hindsight return-to-go. This module stores them as one
flat TensorDict of steps (oldest trajectory first) plus its ``EpisodeTable``, so a batch of windows costs the
vectorised work of ``rlkit.data.episode_index`` and never a Python loop per sample or per trajectory.

What is stored per step is already in the form the losses read (``rlkit.data.window_keys``): states normalised with
the fixed offline mean/std, ``"return_to_go"`` multiplied by ``reward_scale``, its value at t + 1, raw rewards and
terminal flags. Adds happen once per online iteration and rebuild the flat table (tensor copies, O(stored steps)).

Example:
    >>> replay = TrajectoryReplay.from_offline(offline_td, 1000, context_length=20, reward_scale=0.001)
    >>> replay.add_trajectories(online_td)        # whole episodes, rlkit's layout
    >>> batch = replay.sample(256, generator=torch.Generator().manual_seed(0))  # TensorDict, batch (256, 20)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase, is_tensor_collection

from rlkit.data import keys as K
from rlkit.data import window_keys as W
from rlkit.data.episode_index import EpisodeTable, episode_table_of, gather_windows, sample_window_ends, window_index
from rlkit.data.errors import DatasetError
from rlkit.data.layout import validate_transitions
from rlkit.data.returns import episode_returns, next_returns_to_go, returns_to_go

STATE_STD_EPSILON = 1e-6  # added to the offline state std, as the original does, so constant features stay finite

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def offline_state_statistics(observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std + 1e-6 of the rows of ``observations`` (N, S), the original's state normalisation (float32)."""
    if observations.ndim != 2 or observations.shape[0] == 0:
        raise DatasetError(f"observations have shape {tuple(observations.shape)}; expected a non-empty (N, S)")
    rows = observations.to(torch.float64)
    std = rows.std(dim=0, correction=0) + STATE_STD_EPSILON
    return rows.mean(dim=0).to(torch.float32), std.to(torch.float32)


def _vector(value: ArrayLike, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    tensor = tensor.detach().to(torch.float32).cpu()
    if tensor.ndim != 1 or tensor.numel() == 0:
        raise ValueError(f"{name} has shape {tuple(tensor.shape)}; expected a non-empty (S,) vector")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} holds NaN or inf; expected finite values")
    return tensor


def _table_from_lengths(lengths: torch.Tensor, first_steps: torch.Tensor) -> EpisodeTable:
    starts = torch.cumsum(lengths, 0) - lengths
    return EpisodeTable(starts=starts, lengths=lengths, first_steps=first_steps, num_rows=int(lengths.sum()))


def _rows_of(table: EpisodeTable, episodes: torch.Tensor) -> torch.Tensor:
    """Row indices of the chosen runs of ``table``, run after run in the order given (vectorised)."""
    lengths = table.lengths[episodes]
    total = int(lengths.sum())
    new_starts = torch.cumsum(lengths, 0) - lengths
    shift = torch.repeat_interleave(table.starts[episodes] - new_starts, lengths, output_size=total)
    return torch.arange(total, device=lengths.device) + shift


class TrajectoryReplay:
    """FIFO store of whole trajectories (capacity counted in trajectories) that samples left-padded windows.

    capacity: the most trajectories kept; adding more evicts the oldest whole trajectories.
    context_length: K, the steps per window.
    reward_scale: multiplies the hindsight return-to-go (not the stored rewards); must keep every RTG finite.
    state_mean, state_std: the fixed (offline) statistics states are normalised with, (S,) each, std > 0.
    gamma: discount of the return-to-go; 1.0 (the original) gives the undiscounted hindsight return.
    time_limit_as_terminal: mark the last step of every trajectory given to ``add_trajectories`` terminal, as the
        original does for its online rollouts (so a time-limit end stops bootstrapping). Off by default: time limits
        are not MDP terminals. ``from_offline`` never applies it (offline data keep their own flags).
    device: where the stored steps live and windows are made.

    Windows (``sample``): batch (B, K) TensorDict with the keys of ``rlkit.data.window_keys`` and rlkit's layout:
    "observation", "action", "return_to_go", "timestep", "mask", ("next", "observation"), ("next", "reward"),
    ("next", "terminated"), ("next", "return_to_go"). The window end is uniform over stored steps, so trajectories
    are drawn in proportion to their length; positions before the trajectory's first step are padding (mask False,
    every entry zero).
    """

    def __init__(
        self,
        capacity: int,
        *,
        context_length: int,
        reward_scale: float,
        state_mean: ArrayLike,
        state_std: ArrayLike,
        gamma: float = 1.0,
        time_limit_as_terminal: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity={capacity!r}; expected a positive int (a number of trajectories)")
        if isinstance(context_length, bool) or not isinstance(context_length, int) or context_length < 1:
            raise ValueError(f"context_length={context_length!r}; expected a positive int (steps per window)")
        reward_scale = float(reward_scale)
        if not math.isfinite(reward_scale) or reward_scale <= 0:
            raise ValueError(f"reward_scale={reward_scale}; expected a finite number > 0")
        if not 0.0 <= float(gamma) <= 1.0:
            raise ValueError(f"gamma={gamma}; expected a discount in [0, 1]")
        mean, std = _vector(state_mean, "state_mean"), _vector(state_std, "state_std")
        if mean.shape != std.shape:
            raise ValueError(f"state_mean has shape {tuple(mean.shape)}, state_std {tuple(std.shape)}; expected equal")
        if not bool((std > 0).all()):
            raise ValueError(f"state_std has values <= 0 at {(std <= 0).nonzero().squeeze(1).tolist()}; expected > 0")
        self.capacity, self.context_length = capacity, context_length
        self.reward_scale, self.gamma = reward_scale, float(gamma)
        self.time_limit_as_terminal = bool(time_limit_as_terminal)
        self.device = torch.device(device)
        self.state_mean, self.state_std = mean.to(self.device), std.to(self.device)
        self._data: TensorDictBase | None = None
        self._clear_index()

    def _clear_index(self) -> None:
        empty = torch.zeros(0, dtype=torch.int64, device=self.device)
        self._lengths, self._first_steps, self._ids = empty, empty.clone(), empty.clone()
        self._returns = torch.zeros(0, dtype=torch.float64, device=self.device)
        self._table: EpisodeTable | None = None
        self._next_id = 0

    # -- construction from offline data ---------------------------------------------------------------------------
    @classmethod
    def from_offline(
        cls,
        data: TensorDictBase,
        capacity: int,
        *,
        context_length: int,
        reward_scale: float,
        state_mean: ArrayLike | None = None,
        state_std: ArrayLike | None = None,
        **kwargs: Any,
    ) -> TrajectoryReplay:
        """A replay holding the ``capacity`` highest-return trajectories of ``data`` (rlkit's layout).

        As the original: without ``state_mean``/``state_std`` they are computed from every row of ``data``
        (``offline_state_statistics``); when ``data`` has more trajectories than ``capacity``, the kept ones are
        stored from lowest to highest return, so the worst are evicted first by later adds; otherwise file order.
        Other keyword arguments go to the constructor.
        """
        source = "TrajectoryReplay.from_offline"
        _check_layout(data, source)
        if (state_mean is None) != (state_std is None):
            raise ValueError("pass both state_mean and state_std, or neither (to compute them from the data)")
        if state_mean is None:
            state_mean, state_std = offline_state_statistics(data.get(K.OBS))
        replay = cls(
            capacity,
            context_length=context_length,
            reward_scale=reward_scale,
            state_mean=state_mean,
            state_std=state_std,
            **kwargs,
        )
        table = episode_table_of(data, source=source)
        if table.num_episodes > capacity:
            returns = episode_returns(data.get(K.REWARD), table)
            order = torch.argsort(returns, stable=True)[-capacity:]  # lowest to highest of the top `capacity`
            rows = _rows_of(table, order)
            data = data[rows]
            table = _table_from_lengths(table.lengths[order], table.first_steps[order])
        replay._append(data, table, time_limit_as_terminal=False, source=source)
        return replay

    # -- adding ---------------------------------------------------------------------------------------------------
    def add_trajectories(self, data: TensorDictBase, *, time_limit_as_terminal: bool | None = None) -> int:
        """Add the whole trajectories (runs of equal ``"episode"`` ids) of ``data`` and return how many were added.

        Beyond ``capacity`` the oldest stored trajectories are evicted (and, if ``data`` alone holds more than
        ``capacity``, its own first ones are never stored). ``time_limit_as_terminal`` overrides the replay's
        setting for this call.
        """
        source = "TrajectoryReplay.add_trajectories"
        _check_layout(data, source)
        table = episode_table_of(data, source=source)
        flag = self.time_limit_as_terminal if time_limit_as_terminal is None else bool(time_limit_as_terminal)
        self._append(data, table, time_limit_as_terminal=flag, source=source)
        return table.num_episodes

    def _append(self, data: TensorDictBase, table: EpisodeTable, *, time_limit_as_terminal: bool, source: str) -> None:
        new = self._prepare(data, table, time_limit_as_terminal=time_limit_as_terminal, source=source)
        lengths = table.lengths.to(self.device)
        first_steps = table.first_steps.to(self.device)
        returns = episode_returns(data.get(K.REWARD), table).to(self.device)
        ids = torch.arange(self._next_id, self._next_id + table.num_episodes, device=self.device)
        self._next_id += table.num_episodes

        all_lengths = torch.cat([self._lengths, lengths])
        evict = max(0, all_lengths.shape[0] - self.capacity)
        evicted_rows = int(all_lengths[:evict].sum())
        old_rows = int(self._lengths.sum())
        if self._data is not None and evicted_rows < old_rows:
            merged = torch.cat([self._data[evicted_rows:], new], dim=0)
        else:
            merged = new[evicted_rows - old_rows:] if evicted_rows > old_rows else new
        self._data = merged
        self._lengths = all_lengths[evict:]
        self._first_steps = torch.cat([self._first_steps, first_steps])[evict:]
        self._returns = torch.cat([self._returns, returns])[evict:]
        self._ids = torch.cat([self._ids, ids])[evict:]
        self._table = _table_from_lengths(self._lengths, self._first_steps)

    def _prepare(
        self, data: TensorDictBase, table: EpisodeTable, *, time_limit_as_terminal: bool, source: str
    ) -> TensorDictBase:
        """The stored columns of ``data``: normalised states, scaled RTG and its next value, raw rewards, flags."""
        obs, next_obs = data.get(K.OBS), data.get(K.NEXT_OBS)
        state_dim = self.state_mean.shape[0]
        if obs.ndim != 2 or obs.shape[1] != state_dim:
            raise DatasetError(
                f"{source}: 'observation' has shape {tuple(obs.shape)}; expected (N, {state_dim}) to match state_mean"
            )
        action = data.get(K.ACTION).to(device=self.device, dtype=torch.float32)
        if action.ndim == 1:
            action = action.unsqueeze(1)
        if self._data is not None and action.shape[1:] != self._data.get(K.ACTION).shape[1:]:
            raise DatasetError(
                f"{source}: 'action' has shape {tuple(action.shape)}; expected (N, "
                f"{', '.join(map(str, self._data.get(K.ACTION).shape[1:]))}) like the stored trajectories"
            )
        reward = data.get(K.REWARD).to(self.device)
        rtg64 = returns_to_go(reward, _on(table, self.device), gamma=self.gamma) * self.reward_scale
        rtg = rtg64.to(torch.float32).unsqueeze(1)
        if not bool(torch.isfinite(rtg).all()):
            row = int((~torch.isfinite(rtg)).squeeze(1).nonzero()[0, 0])
            raise DatasetError(
                f"{source}: reward_scale={self.reward_scale} makes the return-to-go non-finite (row {row}: "
                f"{rtg64[row].item()} does not fit float32); expected a scale that keeps every return-to-go finite"
            )
        terminated = data.get(K.TERMINATED).to(self.device).reshape(-1, 1).clone()
        if time_limit_as_terminal:
            terminated[(table.starts + table.lengths - 1).to(self.device)] = True
        n = obs.shape[0]
        has_next = data.get(K.HAS_NEXT, None)  # False where s' is unknown: the critic must not bootstrap there
        has_next = torch.ones(n, dtype=torch.bool) if has_next is None else has_next.reshape(n)
        return TensorDict(
            {
                K.OBS: self._normalize(obs),
                K.ACTION: action,
                K.HAS_NEXT: has_next.to(self.device),
                W.RTG: rtg,
                "next": {
                    "observation": self._normalize(next_obs),
                    "reward": reward.to(torch.float32).reshape(n, 1),
                    "terminated": terminated,
                    "return_to_go": next_returns_to_go(rtg, _on(table, self.device)),
                },
            },
            batch_size=[n],
            device=self.device,
        )

    def _normalize(self, states: torch.Tensor) -> torch.Tensor:
        states = states.to(device=self.device, dtype=torch.float32)
        return (states - self.state_mean).div_(self.state_std)  # one new tensor, divided in place

    # -- sampling -------------------------------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> TensorDictBase:
        """``batch_size`` left-padded windows of ``context_length`` steps (see the class docstring for the keys)."""
        if self._data is None or self._table is None:
            raise RuntimeError("the trajectory replay is empty; add trajectories before sampling")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; expected a positive int")
        ends, episodes = sample_window_ends(self._table, batch_size, weighting="length", generator=generator)
        index, mask, timestep = window_index(self._table, ends, episodes, self.context_length)
        return gather_windows(self._data, index, mask, timestep, mask_key=W.MASK, timestep_key=W.TIMESTEP)

    # -- inspection -----------------------------------------------------------------------------------------------
    @property
    def num_trajectories(self) -> int:
        return int(self._lengths.shape[0])

    @property
    def num_steps(self) -> int:
        return int(self._lengths.sum()) if self._lengths.numel() else 0

    @property
    def trajectory_lengths(self) -> torch.Tensor:
        """Length of each stored trajectory, oldest first: int64 (num_trajectories,)."""
        return self._lengths.clone()

    @property
    def trajectory_returns(self) -> torch.Tensor:
        """Undiscounted, unscaled return of each stored trajectory, oldest first: float64 (num_trajectories,)."""
        return self._returns.clone()

    @property
    def trajectory_ids(self) -> torch.Tensor:
        """Insertion number of each stored trajectory (0 for the first ever added), oldest first."""
        return self._ids.clone()

    @property
    def data(self) -> TensorDictBase | None:
        """The stored steps, oldest trajectory first (read-only by convention), or None when empty."""
        return self._data

    def __len__(self) -> int:
        return self.num_trajectories

    # -- checkpointing --------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and numbers (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "capacity": self.capacity,
            "context_length": self.context_length,
            "reward_scale": self.reward_scale,
            "gamma": self.gamma,
            "time_limit_as_terminal": self.time_limit_as_terminal,
            "state_mean": self.state_mean.cpu(),
            "state_std": self.state_std.cpu(),
            "data": None if self._data is None else self._data.cpu().to_dict(),
            "lengths": self._lengths.cpu(),
            "first_steps": self._first_steps.cpu(),
            "returns": self._returns.cpu(),
            "ids": self._ids.cpu(),
            "next_id": self._next_id,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore stored trajectories saved by ``state_dict``; the data-shaping settings must match this replay's."""
        for name in ("reward_scale", "gamma"):
            if float(state[name]) != getattr(self, name):
                raise ValueError(f"state has {name}={state[name]} but this replay uses {getattr(self, name)}")
        for name in ("state_mean", "state_std"):
            saved = torch.as_tensor(state[name], dtype=torch.float32)
            if saved.shape != getattr(self, name).shape or not torch.equal(saved, getattr(self, name).cpu()):
                raise ValueError(f"state has a different {name} than this replay; stored states were normalised by it")
        lengths = torch.as_tensor(state["lengths"], dtype=torch.int64)
        if lengths.shape[0] > self.capacity:
            raise ValueError(f"state holds {lengths.shape[0]} trajectories; this replay's capacity is {self.capacity}")
        if state["data"] is None:
            self._data = None
            self._clear_index()
            return
        data = TensorDict(state["data"], batch_size=[int(lengths.sum())]).to(self.device)
        self._data = data
        self._lengths = lengths.to(self.device)
        self._first_steps = torch.as_tensor(state["first_steps"], dtype=torch.int64).to(self.device)
        self._returns = torch.as_tensor(state["returns"], dtype=torch.float64).to(self.device)
        self._ids = torch.as_tensor(state["ids"], dtype=torch.int64).to(self.device)
        self._next_id = int(state["next_id"])
        self._table = _table_from_lengths(self._lengths, self._first_steps)


def _on(table: EpisodeTable, device: torch.device) -> EpisodeTable:
    if table.starts.device == device:
        return table
    return EpisodeTable(
        starts=table.starts.to(device),
        lengths=table.lengths.to(device),
        first_steps=table.first_steps.to(device),
        num_rows=table.num_rows,
    )


def _check_layout(data: TensorDictBase, source: str) -> None:
    if not is_tensor_collection(data):
        raise DatasetError(f"{source}: got {type(data).__name__}; expected a TensorDict in rlkit's layout")
    validate_transitions(data, source=source)


__all__ = ["TrajectoryReplay", "offline_state_statistics", "STATE_STD_EPSILON"]
