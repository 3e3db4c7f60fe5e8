"""PTGM's pretraining data: a dataset, the observation dims a goal is made of, codebook input and goal windows.

PTGM pretrains three things on task-agnostic trajectories, all of which need to know which observation dims form a
goal: the codebook (fitted on goal states taken every 6 steps, the original's ``generate_codebook.py``), and the goal
prior and low-level policy (trained on goal windows: a goal step g, the k steps before it get s_g as their goal;
``rlkit.objectives.ptgm.sample_goal_windows``). :class:`GoalDataset` ties a loaded dataset to its goal dims and its
episode table and checks both once, so a goal index outside the observation, or too few states for the codebook,
fails here with a message naming the dataset, instead of as an index error deep inside training.

Sources:

* maze: the foundation's generated files (``python -m rlkit.data build maze2d-medium-v1``), loaded by name with
  ``rlkit.data.names.load_dataset``; goal = (x, y) = dims [0, 1].
* kitchen: a D4RL-format hdf5 (kitchen-mixed-v0 etc.; 60-d observations, PTGM's 21 goal dims in D4RL's layout) or
  a local Minari dataset ``"minari:D4RL/kitchen/mixed-v2"`` (59-d gymnasium ``observation``, the same 21 dims in
  gymnasium's layout). Run the downstream env in the same layout (``rlkit.envs.goal_tasks.make_kitchen_env``).

Example:
    >>> data = load_maze_goal_data("maze2d-medium-v1")
    >>> goals = data.goal_states(every=6, num_codes=50)     # (N / 6, 2) codebook input
    >>> batch = data.sample_windows(128, horizon=10)        # (128, 10) windows with a "goal" key
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from tensordict import TensorDictBase

from rlkit.data import keys as K
from rlkit.data.episode_index import EpisodeTable, EpisodeWeighting, episode_table_of
from rlkit.data.errors import DatasetError
from rlkit.data.names import MINARI_PREFIX

CODEBOOK_STRIDE = 6  # the original keeps every 6th state as codebook input
MAZE_GOAL_DIMS = (0, 1)
KITCHEN_D4RL_OBS_DIM = 60
KITCHEN_GYMNASIUM_OBS_DIM = 59


def check_goal_dims(goal_dims: Sequence[int], obs_dim: int, source: str) -> tuple[int, ...]:
    """``goal_dims`` as a tuple of ints, each a valid index into an observation of ``obs_dim`` dims, no repeats."""
    dims = tuple(goal_dims)
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise DatasetError(f"{source}: goal_dims={list(dims)}; expected a non-empty list of int indices")
    outside = [d for d in dims if not 0 <= d < obs_dim]
    if outside:
        raise DatasetError(f"{source}: goal dims {outside} lie outside the observation, which has {obs_dim} dims "
                           f"(valid indices 0..{obs_dim - 1})")
    if len(set(dims)) != len(dims):
        raise DatasetError(f"{source}: goal_dims={list(dims)} repeat an index; expected distinct dims")
    return dims


@dataclass
class GoalDataset:
    """A dataset in rlkit's layout (``rlkit.data.keys``), the observation dims of a goal, and its episode table.

    ``layout`` names the observation layout ("maze2d", "kitchen-d4rl", "kitchen-gymnasium", or the caller's own),
    so scripts can build the matching downstream env.
    """

    data: TensorDictBase
    goal_dims: tuple[int, ...]
    source: str
    layout: str = "custom"
    table: EpisodeTable = field(init=False, repr=False)

    def __post_init__(self) -> None:
        observations = self.data.get(K.OBS, None)
        if observations is None or observations.ndim != 2 or self.data.batch_dims != 1:
            shape = None if observations is None else tuple(observations.shape)
            raise DatasetError(f"{self.source}: expected flat observations (N, obs_dim) under {K.OBS!r}; got {shape}")
        self.goal_dims = check_goal_dims(self.goal_dims, observations.shape[1], self.source)
        self.table = episode_table_of(self.data, source=self.source)

    @property
    def obs_dim(self) -> int:
        return self.data[K.OBS].shape[1]

    @property
    def act_dim(self) -> int:
        return self.data[K.ACTION].shape[1]

    @property
    def goal_dim(self) -> int:
        return len(self.goal_dims)

    def goal_states(self, every: int = CODEBOOK_STRIDE, num_codes: int | None = None) -> torch.Tensor:
        """The goal dims of every ``every``-th state of each episode (steps 0, every, 2 every, ...): (M, goal_dim).

        With ``num_codes``, fails unless there are at least that many goal states (a codebook needs one per code).
        """
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"goal_states: every must be a positive int; got {every!r}")
        rows = torch.arange(self.data.batch_size[0])
        within = rows - torch.repeat_interleave(self.table.starts, self.table.lengths)
        keep = (within % every == 0).nonzero().squeeze(1)
        goals = self.data[K.OBS].index_select(0, keep)[:, list(self.goal_dims)].float()
        if num_codes is not None and goals.shape[0] < num_codes:
            raise DatasetError(f"{self.source}: {goals.shape[0]} goal states (every {every}th of "
                               f"{self.data.batch_size[0]} states) for {num_codes} codes; expected at least one "
                               "state per code: use more data, a smaller stride, or fewer codes")
        return goals

    def sample_windows(self, batch_size: int, horizon: int = 10, *, generator: torch.Generator | None = None,
                       episode_weighting: EpisodeWeighting = "uniform") -> TensorDictBase:
        """``batch_size`` goal windows of ``horizon`` steps: (B, horizon) rows with ``"goal"`` (B, horizon, g)."""
        from rlkit.objectives.ptgm import sample_goal_windows

        return sample_goal_windows(self.data, self.table, batch_size, horizon, goal_dims=self.goal_dims,
                                   episode_weighting=episode_weighting, generator=generator)


ANTMAZE_OBS_DIM = 29
"""The locally built antmaze-*-v2 observation: qpos (15) + qvel (14); maze2d's is 4 (x, y, vx, vy)."""


def load_maze_goal_data(name: str | os.PathLike = "maze2d-medium-v1") -> GoalDataset:
    """A maze2d or antmaze dataset (name or path; build it with ``python -m rlkit.data build NAME``), goal = (x, y).

    The layout is "antmaze" for 29-d observations (the ant's qpos + qvel), else "maze2d".
    """
    from rlkit.data.names import load_dataset

    data = load_dataset(name)
    layout = "antmaze" if data["observation"].shape[-1] == ANTMAZE_OBS_DIM else "maze2d"
    return GoalDataset(data, MAZE_GOAL_DIMS, source=os.fspath(name), layout=layout)


def load_kitchen_goal_data(source: str | os.PathLike) -> GoalDataset:
    """Kitchen data from a D4RL-format hdf5 (path or name, 60-d) or ``"minari:<id>"`` (local Minari, 59-d).

    The goal dims are PTGM's 21 (``rlkit.envs.goal_tasks.KITCHEN_GOAL_DIMS``) in the data's own layout.
    """
    from rlkit.envs.goal_tasks import kitchen_goal_dims

    text = os.fspath(source)
    if isinstance(source, str) and text.startswith(MINARI_PREFIX):
        from rlkit.data.minari_io import load_minari

        data = load_minari(text[len(MINARI_PREFIX):], observation_keys=["observation"], include_infos=False)
        layout, expected = "gymnasium", KITCHEN_GYMNASIUM_OBS_DIM
    else:
        from rlkit.data.names import load_dataset

        data = load_dataset(source)
        layout, expected = "d4rl", KITCHEN_D4RL_OBS_DIM
    obs_dim = data[K.OBS].shape[-1]
    if obs_dim != expected:
        raise DatasetError(f"{text}: observations have {obs_dim} dims; expected {expected} for kitchen data in the "
                           f"{layout} layout ({'D4RL hdf5' if layout == 'd4rl' else 'Minari FrankaKitchen'})")
    return GoalDataset(data, kitchen_goal_dims(layout), source=text, layout=f"kitchen-{layout}")
