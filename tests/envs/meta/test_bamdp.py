"""BAMDPWrapper: the done flag, resets to the same task at inner boundaries, meta-episode length, and terminated kept
apart from truncated."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlkit.envs.meta.bamdp import BAMDPWrapper
from rlkit.envs.meta.grid_navi import GridNaviEnv
from rlkit.envs.meta.point_robot import PointRobotSparseEnv

NOOP, UP, RIGHT = 0, 1, 2


def test_flags_episode_indices_and_truncation_over_four_grid_episodes():
    env = BAMDPWrapper(GridNaviEnv(task=[2.0, 2.0]), episodes_per_task=4)
    assert env.observation_space.shape == (3,) and env.meta_episode_steps == 60
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0.0, 0.0, 0.0] and info["episode_index"] == 0
    flags, indices = [], []
    for t in range(1, 61):
        obs, reward, terminated, truncated, info = env.step(RIGHT)
        flags.append(obs[-1])
        indices.append(info["episode_index"])
        assert not terminated and truncated == (t == 60)
        assert info["inner_truncated"] == (t % 15 == 0) and not info["inner_terminated"]
        assert ("start_obs" in info) == (t % 15 == 0 and t < 60)
        assert info["task"].tolist() == [2.0, 2.0]
    assert flags == [1.0 if t % 15 == 0 else 0.0 for t in range(1, 61)]
    assert indices == [(t - 1) // 15 for t in range(1, 61)]
    assert env.episode_index == 4
    with pytest.raises(RuntimeError, match="meta-episode ended"):
        env.step(NOOP)


def test_inner_boundary_restarts_the_same_task_and_the_next_action_moves_from_the_start():
    env = BAMDPWrapper(PointRobotSparseEnv(task=[0.0, 1.0], random_start=True), episodes_per_task=2)
    env.reset(seed=1)
    for _ in range(59):
        env.step(np.array([1.0, 0.0]))
    last, _, _, truncated, info = env.step(np.array([1.0, 0.0]))
    assert last[-1] == 1.0 and not truncated  # the observation is still the first episode's last one
    start = info["start_obs"]
    assert start[-1] == 0.0 and not np.allclose(start[:2], last[:2])
    obs, _, _, _, info = env.step(np.array([0.0, 1.0]))
    np.testing.assert_allclose(obs[:2], start[:2] + [0.0, 0.1], atol=1e-6)
    assert info["episode_index"] == 1 and env.get_task().tolist() == [0.0, 1.0]


def test_goal_hits_never_end_the_meta_episode():
    env = BAMDPWrapper(GridNaviEnv(task=[2.0, 0.0]), episodes_per_task=2)
    env.reset(seed=0)
    actions = ([RIGHT, RIGHT] + [NOOP] * 13) * 2
    outcomes = [env.step(action)[1:4] for action in actions]
    assert sum(reward == 1.0 for reward, _, _ in outcomes) == 28  # on the goal from the 2nd step of each episode
    assert [terminated for _, terminated, _ in outcomes] == [False] * 30
    assert [truncated for _, _, truncated in outcomes] == [False] * 29 + [True]


class _TerminatesAfterTwo(gym.Env):
    """A task env whose episodes terminate after two steps (a fall, say)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)
    max_episode_steps = 5

    def __init__(self) -> None:
        self.steps, self.resets = 0, 0

    def get_task(self) -> np.ndarray:
        return np.zeros(1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.steps, self.resets = 0, self.resets + 1
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.steps += 1
        return np.full(1, 0.5, np.float32), 0.0, self.steps == 2, False, {}


def test_inner_termination_ends_an_episode_and_only_the_last_one_terminates_the_meta_episode():
    inner = _TerminatesAfterTwo()
    env = BAMDPWrapper(inner, episodes_per_task=3)
    env.reset(seed=0)
    results = [env.step(0) for _ in range(6)]
    assert [obs[-1] for obs, *_ in results] == [0.0, 1.0] * 3
    assert [r[2] for r in results] == [False] * 5 + [True]  # terminated
    assert [r[3] for r in results] == [False] * 6  # never truncated: the last inner episode terminated
    assert [r[4]["inner_terminated"] for r in results] == [False, True] * 3 and inner.resets == 3


def test_set_task_applies_at_the_next_meta_episode_only():
    env = BAMDPWrapper(GridNaviEnv(task=[2.0, 2.0]), episodes_per_task=2)
    env.reset(seed=0)
    env.set_task([4.0, 4.0])
    for _ in range(15):
        *_, info = env.step(NOOP)
    assert info["task"].tolist() == [2.0, 2.0] and env.get_task().tolist() == [2.0, 2.0]
    env.step(NOOP)
    assert env.get_task().tolist() == [2.0, 2.0]  # the boundary reset kept the meta-episode's task
    _, info = env.reset()
    assert info["task"].tolist() == [4.0, 4.0]
    _, info = env.reset(options={"task": [3.0, 1.0]})
    assert env.get_task().tolist() == [3.0, 1.0]


def test_without_the_flag_observations_are_the_inner_ones():
    env = BAMDPWrapper(GridNaviEnv(task=[2.0, 2.0]), episodes_per_task=2, add_done_flag=False)
    assert env.observation_space.shape == (2,)
    assert env.reset(seed=0)[0].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="positive int"):
        BAMDPWrapper(GridNaviEnv(task=[2.0, 2.0]), episodes_per_task=0)
