import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.data.layout import transitions_from_arrays
from rlkit.envs.goal_reward import GoalReward, goal_reward, relabel_goal_reward


class Walker(gym.Env):
    """Moves (x, y) by the action; a third observation entry that the reward must ignore."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)
    action_space = gym.spaces.Box(-10, 10, (2,), np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = np.array([0.0, 0.0, 7.0])
        return self.state.copy(), {"inner": True}

    def step(self, action):
        self.state[:2] += action
        return self.state.copy(), -1.0, False, False, {}


def test_goal_reward_hand_values_numpy_and_torch():
    # distance 5 (3-4-5 triangle) with scale 20 -> exp(-0.25)
    np.testing.assert_allclose(goal_reward(np.array([3.0, 4.0]), [0.0, 0.0]), math.exp(-0.25))
    np.testing.assert_allclose(goal_reward(np.array([[0.0, 0.0], [6.0, 8.0]]), [0.0, 0.0], scale=10.0),
                               [1.0, math.exp(-1.0)])
    out = goal_reward(torch.tensor([[1.0, 1.0], [4.0, 5.0]]), [1.0, 1.0], scale=1.0)
    torch.testing.assert_close(out, torch.tensor([1.0, math.exp(-5.0)]))


def test_goal_reward_rejects_bad_goal_and_scale():
    with pytest.raises(ValueError, match="expected 2 finite coordinates"):
        goal_reward(np.zeros((4, 2)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="scale"):
        goal_reward(np.zeros((4, 2)), [1.0, 2.0], scale=0.0)


def test_wrapper_reward_success_and_goal_change():
    env = GoalReward(Walker(), goal=[3.0, 4.0], scale=20.0, success_radius=0.5)
    obs, info = env.reset(seed=0)
    assert info["inner"] and info["goal_distance"] == pytest.approx(5.0) and not info["success"]
    obs, reward, terminated, truncated, info = env.step(np.array([3.0, 3.7]))
    assert reward == pytest.approx(math.exp(-0.3 / 20))
    assert info["success"] and info["original_reward"] == -1.0 and not terminated and not truncated
    env.set_goal([0.0, 0.0])
    _, reward, _, _, info = env.step(np.array([0.0, 0.0]))
    assert reward == pytest.approx(math.exp(-math.hypot(3.0, 3.7) / 20)) and not info["success"]
    _, info = env.reset(options={"goal": [0.0, 1.0]})
    assert info["goal_distance"] == pytest.approx(1.0)


def test_wrapper_checks_its_arguments():
    with pytest.raises(ValueError, match="indices"):
        GoalReward(Walker(), goal=[0.0, 0.0], xy_indices=(0, 5))
    with pytest.raises(ValueError, match="goal"):
        GoalReward(Walker(), goal=[0.0])


def test_relabel_dataset_reward_uses_next_observation():
    obs = np.array([[0.0, 0.0, 9.0], [3.0, 4.0, 9.0], [6.0, 8.0, 9.0]], dtype=np.float32)
    td = transitions_from_arrays(obs, np.zeros((3, 2)), np.full(3, 5.0, np.float32),
                                 np.zeros(3, bool), np.array([0, 0, 1], bool))
    out = relabel_goal_reward(td, goal=[0.0, 0.0], scale=5.0)
    # s' of rows 0 and 1 are obs[1], obs[2]: distances 5 and 10
    torch.testing.assert_close(out["next", "reward"][:2], torch.tensor([[math.exp(-1.0)], [math.exp(-2.0)]]))
    assert out["next", "reward"].shape == (3, 1) and out["next", "reward"].dtype == torch.float32
    assert (td["next", "reward"] == 5.0).all()  # the input is untouched
    assert out["observation"].data_ptr() == td["observation"].data_ptr()  # shared, not copied
    with pytest.raises(ValueError, match="indices"):
        relabel_goal_reward(td, goal=[0.0, 0.0], xy_indices=(0, 3))
