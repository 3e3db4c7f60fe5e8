import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.envs.hierarchical import GoalCodeWrapper, policy_low_level
from rlkit.modules.goal_prior import GaussianGoalPolicy


class Line(gym.Env):
    """x moves by the action; reward at env step n (1-based) is n; terminated once x >= end (info success)."""

    def __init__(self, end: float = 100.0) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.end = end

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.n = 0.0, 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.x, 7.0, -1.0], np.float32)

    def step(self, action):
        self.x += float(action[0])
        self.n += 1
        done = self.x >= self.end
        return self._obs(), float(self.n), done, False, {"success": done}


class Recorder:
    """A low level that pushes x by a fixed amount and records what it was given."""

    def __init__(self, push: float = 0.5) -> None:
        self.push, self.calls = push, []

    def __call__(self, obs, goal):
        self.calls.append((obs.copy(), goal.copy()))
        return np.array([self.push])


CODES = np.array([[10.0, 7.0], [-10.0, 7.0]])


def _env(end: float = 100.0, max_steps: int | None = None, push: float = 0.5, **kwargs) -> GoalCodeWrapper:
    inner = Line(end) if max_steps is None else gym.wrappers.TimeLimit(Line(end), max_steps)
    return GoalCodeWrapper(inner, Recorder(push), CODES, goal_dims=[0, 1], steps_per_code=3, **kwargs)


def test_each_step_runs_k_inner_steps_and_sums_their_rewards():
    env = _env()
    assert env.action_space == gym.spaces.Discrete(2)
    obs, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(1)
    assert reward == 1 + 2 + 3 and not terminated and not truncated
    np.testing.assert_allclose(obs, [1.5, 7.0, -1.0])
    assert info["inner_steps"] == 3 and info["code"] == 1 and not info["success"]
    np.testing.assert_allclose(info["goal"], [-10.0, 7.0])
    assert info["goal_distance"] == pytest.approx(11.5)
    obs, reward, *_ = env.step(np.int64(0))
    assert reward == 4 + 5 + 6
    np.testing.assert_allclose(obs, [3.0, 7.0, -1.0])
    # the low level saw each current observation and the chosen code's goal
    calls = env.low_level.calls
    assert [float(o[0]) for o, _ in calls] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert [g.tolist() for _, g in calls] == [[-10.0, 7.0]] * 3 + [[10.0, 7.0]] * 3


def test_termination_mid_segment_stops_the_segment():
    env = _env(end=2.0)
    env.reset()
    assert env.step(0)[1] == 6
    obs, reward, terminated, truncated, info = env.step(torch.tensor(0))
    assert (reward, terminated, truncated, info["inner_steps"], info["success"]) == (4, True, False, 1, True)
    np.testing.assert_allclose(obs[0], 2.0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset()
    assert env.step(0)[1] == 6  # a fresh episode


def test_truncation_is_kept_apart_from_termination():
    env = _env(max_steps=5)
    env.reset()
    env.step(0)
    obs, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated, info["inner_steps"]) == (4 + 5, False, True, 2)


def test_actions_are_clipped_to_the_box_unless_disabled():
    env = _env(push=5.0)
    env.reset()
    assert env.step(0)[0][0] == pytest.approx(3.0)
    env = _env(push=5.0, clip_actions=False)
    env.reset()
    assert env.step(0)[0][0] == pytest.approx(15.0)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"goal_dims \[3\] lie outside the observation, which has 3 dims"):
        GoalCodeWrapper(Line(), Recorder(), np.zeros((2, 2)), goal_dims=[0, 3])
    with pytest.raises(ValueError, match="codes have 2 dims per goal but goal_dims names 3"):
        GoalCodeWrapper(Line(), Recorder(), np.zeros((2, 2)), goal_dims=[0, 1, 2])
    with pytest.raises(ValueError, match="codes have 2 dims per goal but goal_dims names 3"):
        GoalCodeWrapper(Line(), Recorder(), np.zeros((2, 2)))  # no goal_dims: the goal is the whole observation
    with pytest.raises(ValueError, match=r"codes have shape \(4,\)"):
        GoalCodeWrapper(Line(), Recorder(), np.zeros(4), goal_dims=[0])
    with pytest.raises(ValueError, match="code 1 is not finite"):
        GoalCodeWrapper(Line(), Recorder(), np.array([[0.0], [np.nan]]), goal_dims=[0])

    class DictObs(Line):
        def __init__(self):
            super().__init__()
            self.observation_space = gym.spaces.Dict({"observation": gym.spaces.Box(-1, 1, (3,))})

    with pytest.raises(ValueError, match="expected a flat Box"):
        GoalCodeWrapper(DictObs(), Recorder(), CODES, goal_dims=[0, 1])
    env = _env()
    env.reset()
    with pytest.raises(ValueError, match=r"code=2; expected an int in \[0, 2\)"):
        env.step(2)
    with pytest.raises(ValueError, match="code=0.5"):
        env.step(0.5)
    env = GoalCodeWrapper(Line(), lambda obs, goal: np.zeros(2), CODES, goal_dims=[0, 1])
    env.reset()
    with pytest.raises(ValueError, match=r"action of shape \(2,\); expected \(1,\)"):
        env.step(0)


def test_policy_low_level_drives_the_wrapper():
    torch.manual_seed(0)
    policy = GaussianGoalPolicy(3, 2, 1, hidden=8)
    low_level = policy_low_level(policy)
    assert not policy.training
    obs, goal = np.zeros(3, np.float32), np.ones(2, np.float32)
    expected = policy.mode(torch.zeros(1, 3), torch.ones(1, 2))[0].detach().numpy()
    np.testing.assert_allclose(low_level(obs, goal), expected)
    sampled = policy_low_level(policy, deterministic=False, generator=torch.Generator().manual_seed(0))
    assert sampled(obs, goal).shape == (1,)
    env = GoalCodeWrapper(Line(), low_level, CODES, goal_dims=[0, 1])
    env.reset()
    assert env.step(1)[4]["inner_steps"] == 10
