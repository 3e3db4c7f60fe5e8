import copy

import gymnasium as gym
import numpy as np
import pytest
import torch
from tensordict import TensorDict
from torch import nn

from rlkit.agents.ptgm_hrl import (
    PTGMHighLevelAgent,
    SparseGoalReward,
    high_level_transition,
    sparse_goal_reward,
)
from rlkit.envs.hierarchical import GoalCodeWrapper
from rlkit.modules.goal_prior import GoalPrior
from rlkit.objectives.prior_kl_sac import PriorKLDiscreteSACLoss

CODES = np.array([[0.0, 0.0], [4.0, 0.0], [-4.0, 0.0], [0.0, 4.0], [0.0, -4.0]])
TARGET = (4.0, 0.0)


class Point(gym.Env):
    """A point in the plane moved by actions in [-1, 1]^2, starting at the origin."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.xy = np.zeros(2, np.float32)
        return self.xy.copy(), {}

    def step(self, action):
        self.xy = self.xy + np.asarray(action, np.float32)
        return self.xy.copy(), -1.0, False, False, {}


def _goal_env() -> GoalCodeWrapper:
    inner = gym.wrappers.TimeLimit(SparseGoalReward(Point(), TARGET, radius=0.5), 20)
    return GoalCodeWrapper(inner, lambda obs, goal: goal - obs, CODES, goal_dims=[0, 1], steps_per_code=5)


def _uniform_prior() -> nn.Module:
    prior = nn.Linear(2, len(CODES))
    nn.init.zeros_(prior.weight)
    nn.init.zeros_(prior.bias)
    return prior


def _agent(seed: int = 0) -> PTGMHighLevelAgent:
    torch.manual_seed(seed)
    loss = PriorKLDiscreteSACLoss(_uniform_prior(), 2, len(CODES), hidden_sizes=(32, 32), gamma=0.9, tau=0.05,
                                  alpha_init=0.05, target_kl=1.0)
    return PTGMHighLevelAgent(loss, lr=3e-3)


def _mean_return(agent: PTGMHighLevelAgent, episodes: int, deterministic: bool, generator: torch.Generator) -> float:
    env, total = _goal_env(), 0.0
    for _ in range(episodes):
        obs, _ = env.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, deterministic, generator))
            total += reward
            done = terminated or truncated
    return total / episodes


def test_a_tiny_run_on_a_goal_reaching_task_improves_the_return():
    agent, generator = _agent(), torch.Generator().manual_seed(0)
    before = _mean_return(agent, 40, False, generator)
    env, replay = _goal_env(), []
    obs, _ = env.reset(seed=0)
    for step in range(300):
        code = agent.act(obs, generator=generator)
        next_obs, reward, terminated, truncated, info = env.step(code)
        replay.append(high_level_transition(obs, code, reward, next_obs, terminated, truncated, info["inner_steps"]))
        obs = env.reset()[0] if terminated or truncated else next_obs
        if step >= 32:
            rows = torch.randint(len(replay), (64,), generator=generator).tolist()
            agent.update(torch.cat([replay[i] for i in rows]))
    after = _mean_return(agent, 40, False, generator)
    assert before < 0.75 and after > 0.85 and after - before > 0.2, (before, after)
    assert _mean_return(agent, 1, True, generator) == 1.0  # greedy: straight to the target code
    assert agent.act(np.zeros(2), deterministic=True) == 1
    assert int(agent.num_updates) == 300 - 32


def test_update_moves_every_part_and_the_state_dict_resumes_exactly():
    agent = _agent()
    batch = torch.cat([high_level_transition([0.0, 0.0], c, float(c == 1), CODES[c], c == 1, False, 5)
                       for c in range(5)])
    before = {k: v.clone() for k, v in agent.loss.state_dict().items()}
    metrics = agent.update(batch)
    assert {"loss_actor", "loss_qvalue", "loss_alpha", "alpha", "kl", "entropy"} <= set(metrics)
    after = agent.loss.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert "log_alpha" in changed
    assert any(k.startswith("policy.") for k in changed) and any(k.startswith("critics.") for k in changed)
    assert any(k.startswith("target_critics.") for k in changed)
    assert not any(k.startswith("prior_network.") for k in changed)
    clone = _agent(seed=1)
    clone.load_state_dict(copy.deepcopy(agent.state_dict()))  # as a checkpoint file would (no shared tensors)
    agent.update(batch)
    clone.update(batch)
    for (key, a), b in zip(agent.loss.state_dict().items(), clone.loss.state_dict().values()):
        assert torch.equal(a, b), key


def test_act_with_a_batchnorm_prior_on_one_observation_and_in_batches():
    prior = GoalPrior(2, len(CODES), hidden=8)
    agent = PTGMHighLevelAgent(PriorKLDiscreteSACLoss(prior, 2, len(CODES), hidden_sizes=(8,)))
    code = agent.act(np.zeros(2))
    assert code.shape == () and 0 <= int(code) < len(CODES)
    assert agent.act(np.zeros((7, 2)), deterministic=True).shape == (7,)
    samples = agent.act(np.zeros((4000, 2)), generator=torch.Generator().manual_seed(0))
    pi = agent.loss.policy_log_probs(torch.zeros(1, 2)).exp()[0]
    torch.testing.assert_close(torch.bincount(torch.as_tensor(samples), minlength=5) / 4000.0, pi, atol=0.03, rtol=0)
    with pytest.raises(ValueError, match=r"expected observations \(2,\)"):
        agent.act(np.zeros(3))


def test_sparse_goal_reward_and_wrapper():
    reward = sparse_goal_reward(np.array([[1.0, 1.0], [1.0, 1.5], [1.0, 1.51], [0.0, 0.0]]), (1.0, 1.0), 0.5)
    np.testing.assert_array_equal(reward, [1.0, 1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"expected xy \(\.\.\., 2\)"):
        sparse_goal_reward(np.zeros(3), (0.0, 0.0))
    env = SparseGoalReward(Point(), (2.0, 0.0), radius=0.5)
    env.reset()
    obs, reward, terminated, _, info = env.step(np.array([1.0, 0.0]))
    assert (reward, terminated, info["success"], info["inner_reward"]) == (0.0, False, False, -1.0)
    obs, reward, terminated, _, info = env.step(np.array([0.8, 0.0]))
    assert (reward, terminated, info["success"]) == (1.0, True, True)
    env = SparseGoalReward(Point(), (2.0, 0.0), radius=0.5, terminate_on_success=False)
    env.reset()
    env.step(np.array([1.0, 0.0]))
    assert env.step(np.array([1.0, 0.0]))[1:3] == (1.0, False)
    with pytest.raises(ValueError, match=r"xy_dims=\[0, 2\]"):
        SparseGoalReward(Point(), (0.0, 0.0), xy_dims=(0, 2))


def test_high_level_transition_layout():
    td = high_level_transition(np.array([1.0, 2.0]), 3, 0.5, [3.0, 4.0], False, True, 7)
    assert isinstance(td, TensorDict) and td.batch_size == torch.Size([1])
    assert td["action"].tolist() == [3] and td["next", "inner_steps"].tolist() == [[7]]
    assert td["next", "done"].item() and not td["next", "terminated"].item() and td["next", "truncated"].item()
    torch.testing.assert_close(td["next", "observation"], torch.tensor([[3.0, 4.0]]))
