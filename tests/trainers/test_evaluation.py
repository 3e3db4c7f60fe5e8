"""evaluate(): exact episode counts, hand-computed returns, autoreset modes, success rate, policies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from tensordict.nn import TensorDictModule

from rlkit.trainers.evaluation import episode_quota, evaluate


class CounterEnv(gym.Env):
    """Episode k (0, 1, 2, ... counted over this env's resets) lasts ``base + k`` steps; step t pays
    ``action * (t + 1)``; ``info["success"]`` is True on the last step of even episodes, False elsewhere.

    So with action 1 episode k returns (base + k)(base + k + 1) / 2.
    """

    def __init__(self, base: int = 1, noisy: bool = False) -> None:
        self.base, self.noisy, self.episode, self.t = base, noisy, -1, 0
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.episode], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(action[0]) * (self.t + 1) + (self.np_random.normal() if self.noisy else 0.0)
        self.t += 1
        done = self.t >= self.base + self.episode
        return self._obs(), reward, done, False, {"success": done and self.episode % 2 == 0}


def ones(obs: np.ndarray) -> np.ndarray:
    return np.ones((obs.shape[0], 1), dtype=np.float32)


def triangle(n: int) -> float:
    return n * (n + 1) / 2


def test_quota_splits_evenly():
    assert episode_quota(5, 3).tolist() == [2, 2, 1]
    assert episode_quota(2, 4).tolist() == [1, 1, 0, 0]


def test_exactly_num_episodes_with_hand_computed_returns():
    result = evaluate(ones, CounterEnv, num_episodes=5, num_envs=3, seed=0)
    # quota [2, 2, 1]; every env has base 1: episodes 0 and 1 last 1 and 2 steps
    assert result["num_episodes"] == 5
    assert result["lengths"].tolist() == [1, 2, 1, 2, 1]
    assert result["returns"].tolist() == [1.0, 3.0, 1.0, 3.0, 1.0]
    assert result["return_mean"] == pytest.approx(9 / 5)
    assert result["return_std"] == pytest.approx(np.std([1, 3, 1, 3, 1]))
    assert result["successes"].tolist() == [True, False, True, False, True]
    assert result["success_rate"] == pytest.approx(3 / 5)


def _envs(mode: AutoresetMode) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: CounterEnv(1), lambda: CounterEnv(5), lambda: CounterEnv(2)], autoreset_mode=mode)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_unequal_episode_lengths_follow_the_quota(mode):
    # a fast env must not contribute more episodes: env0 lengths 1,2; env1 lengths 5,6; env2 length 2
    envs = _envs(mode)
    result = evaluate(ones, envs, num_episodes=5, seed=1)
    assert result["lengths"].tolist() == [1, 2, 5, 6, 2]
    assert result["returns"].tolist() == [triangle(1), triangle(2), triangle(5), triangle(6), triangle(2)]
    assert result["successes"].tolist() == [True, False, True, False, True]
    envs.close()


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_max_steps_cuts_episodes(mode):
    envs = _envs(mode)
    result = evaluate(lambda obs: 2 * ones(obs), envs, num_episodes=5, max_steps=3)
    # env1's episodes (5 and 6 steps) are cut at 3 steps; action 2 doubles every reward
    assert result["lengths"].tolist() == [1, 2, 3, 3, 2]
    assert result["returns"].tolist() == [2.0, 6.0, 12.0, 12.0, 6.0]
    assert result["successes"].tolist() == [True, False, False, False, True]  # cut episodes never reached the end
    envs.close()


def test_final_success_mode_and_is_success_key():
    class LateFailure(CounterEnv):
        def step(self, action):
            obs, reward, terminated, truncated, _ = super().step(action)
            return obs, reward, terminated, truncated, {"is_success": self.t == 1}  # true only at the first step

    any_mode = evaluate(ones, lambda: LateFailure(3), num_episodes=2, num_envs=1)
    final_mode = evaluate(ones, lambda: LateFailure(3), num_episodes=2, num_envs=1, success_mode="final")
    assert any_mode["success_rate"] == 1.0 and final_mode["success_rate"] == 0.0


def test_no_success_key_means_no_success_rate():
    class Plain(CounterEnv):
        def step(self, action):
            return *super().step(action)[:4], {}

    result = evaluate(ones, Plain, num_episodes=2, num_envs=2)
    assert "success_rate" not in result and "successes" not in result


def test_same_seed_same_episodes():
    noisy = lambda: CounterEnv(3, noisy=True)  # noqa: E731
    first = evaluate(ones, noisy, num_episodes=4, num_envs=2, seed=7)["returns"]
    again = evaluate(ones, noisy, num_episodes=4, num_envs=2, seed=7)["returns"]
    other = evaluate(ones, noisy, num_episodes=4, num_envs=2, seed=8)["returns"]
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_torch_module_and_tensordict_policies():
    linear = torch.nn.Linear(2, 1)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.constant_(linear.bias, 3.0)
    result = evaluate(linear, CounterEnv, num_episodes=2, num_envs=2)
    assert result["returns"].tolist() == [3.0, 3.0]
    td_policy = TensorDictModule(linear, in_keys=["observation"], out_keys=["action"])
    assert evaluate(td_policy, CounterEnv, num_episodes=2, num_envs=2)["returns"].tolist() == [3.0, 3.0]
    tensor_out = evaluate(lambda obs: torch.ones(obs.shape[0], 1), CounterEnv, num_episodes=1)
    assert tensor_out["returns"].tolist() == [1.0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_episodes must be >= 1"):
        evaluate(ones, CounterEnv, num_episodes=0)
    with pytest.raises(TypeError, match="function returning a gymnasium.Env"):
        evaluate(ones, CounterEnv(), num_episodes=1)
    envs = _envs(AutoresetMode.NEXT_STEP)
    with pytest.raises(ValueError, match="num_envs=2 but the given vector env has 3"):
        evaluate(ones, envs, num_episodes=1, num_envs=2)
    envs.close()


def test_deterministic_switch_reaches_probabilistic_policies():
    from tensordict.nn import ProbabilisticTensorDictModule, ProbabilisticTensorDictSequential

    params = TensorDictModule(
        lambda obs: (torch.ones(obs.shape[0], 1), torch.full((obs.shape[0], 1), 5.0)),
        in_keys=["observation"], out_keys=["loc", "scale"],
    )
    actor = ProbabilisticTensorDictSequential(
        params,
        ProbabilisticTensorDictModule(in_keys=["loc", "scale"], out_keys=["action"],
                                      distribution_class=torch.distributions.Normal),
    )
    torch.manual_seed(0)
    assert evaluate(actor, CounterEnv, num_episodes=3, num_envs=3)["returns"].tolist() == [1.0, 1.0, 1.0]
    sampled = evaluate(actor, CounterEnv, num_episodes=3, num_envs=3, deterministic=False)["returns"]
    assert np.all(sampled != 1.0)
