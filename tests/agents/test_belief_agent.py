"""Meta-episode evaluation: belief carried across episodes, acting from each episode's start, per-episode results."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlkit.agents.belief_agent import BeliefAgent, evaluate_meta_episodes
from rlkit.agents.offline_dqn import OfflineDQN
from rlkit.envs.meta.grid_navi import GridNaviFamily
from rlkit.envs.meta.point_robot import PointRobotSparseFamily
from rlkit.modules.belief import BeliefEncoder


class CountingEncoder(nn.Module):
    """mean = transitions seen so far, logvar = rewards summed so far: makes the belief's history visible."""

    def prior(self, batch: int):
        zeros = torch.zeros(batch, 1)
        return zeros, zeros.clone(), torch.zeros(batch, 2)

    def step(self, action, reward, next_obs, hidden):
        self.last_action = action
        hidden = hidden + torch.cat([torch.ones_like(reward), reward], dim=-1)
        return hidden[:, :1], hidden[:, 1:], hidden


class GoalSeekingGridPolicy:
    """Greedy to each row's goal on the grid; records the observations it acted on."""

    def __init__(self, goals: np.ndarray) -> None:
        self.goals = torch.as_tensor(goals, dtype=torch.float32)
        self.seen: list[torch.Tensor] = []

    def act(self, hyper_obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        self.seen.append(hyper_obs.clone())
        gap = self.goals - hyper_obs[:, :2]
        right_left = torch.where(gap[:, 0] > 0, 2, 4)
        up_down = torch.where(gap[:, 1] > 0, 1, 3)
        action = torch.where(gap[:, 0] != 0, right_left, up_down)
        return torch.where((gap == 0).all(-1), 0, action)


def test_goal_seeking_policy_returns_and_successes_per_episode():
    goals = np.array([[2.0, 0.0], [4.0, 4.0]])
    policy = GoalSeekingGridPolicy(goals)
    agent = BeliefAgent(CountingEncoder(), policy, num_actions=5)
    results = evaluate_meta_episodes(agent, GridNaviFamily(), goals, episodes_per_task=4)
    # goal (2, 0): two steps right (-0.1, then +1), then 13 more steps on the goal: -0.1 + 14 = 13.9 per episode.
    # goal (4, 4): 8 steps, the last reaching it: -0.7 + 8 * 1 = 7.3 per episode.
    assert results.returns.shape == (2, 4) and results.successes.all()
    np.testing.assert_allclose(results.returns[0], 13.9, atol=1e-9)
    np.testing.assert_allclose(results.returns[1], 7.3, atol=1e-9)
    np.testing.assert_allclose(results.rewards.reshape(2, 4, 15).sum(-1), results.returns)
    # the encoder read one-hot actions; the policy acted on the start (0, 0) at every episode's first step
    firsts = torch.stack([policy.seen[e * 15] for e in range(4)])
    assert (firsts[:, :, :2] == 0).all()
    # the recorded transitions chain like stored data: s_{t+1} is the next state acted in, except at boundaries
    acted, reached = results.acted_observations, results.observations[:, 1:]
    inside = [t for t in range(59) if (t + 1) % 15]
    np.testing.assert_array_equal(acted[:, [t + 1 for t in inside]], reached[:, inside])
    assert (acted[:, ::15] == 0).all() and results.actions.shape == (2, 60, 5)
    np.testing.assert_array_equal(results.successes_per_step.reshape(2, 4, 15).any(-1), results.successes)
    assert agent.encoder.last_action.shape == (2, 5)
    np.testing.assert_allclose(results.summary()["return"], [10.6] * 4)
    assert results.summary()["success"] == [1.0] * 4


def test_belief_is_carried_across_episodes_not_reset():
    goals = np.array([[2.0, 2.0]])
    agent = BeliefAgent(CountingEncoder(), GoalSeekingGridPolicy(goals), num_actions=5)
    results = evaluate_meta_episodes(agent, GridNaviFamily(), goals, episodes_per_task=4)
    # the belief counts all 60 steps and sums all rewards of the meta-episode: no reset at episode ends or goal hits
    np.testing.assert_array_equal(results.means[0, :, 0], np.arange(61))
    np.testing.assert_allclose(results.logvars[0, 1:, 0], np.cumsum(results.rewards[0]), atol=1e-5)
    assert results.logvars[0, -1, 0] > results.returns[0, 0] + 1  # more than one episode's rewards
    assert results.observations.shape == (1, 61, 2) and results.means.shape == (1, 61, 1)


def test_failing_policy_has_no_success_and_real_encoder_shapes():
    torch.manual_seed(0)
    family = PointRobotSparseFamily()
    encoder = BeliefEncoder(obs_dim=2, action_dim=2, latent_dim=5, hidden_size=16)

    class Still:
        def act(self, hyper_obs, deterministic=True):
            assert hyper_obs.shape == (3, 2 + 10)
            return torch.zeros(3, 2)

    tasks = family.sample_tasks(3, np.random.default_rng(0))
    results = evaluate_meta_episodes(BeliefAgent(encoder, Still()), family, tasks, episodes_per_task=2)
    assert not results.successes.any() and (results.returns == 0).all()
    prior_mean, _, _ = encoder.prior(1)
    np.testing.assert_allclose(results.means[:, 0], prior_mean.detach().expand(3, 5).numpy(), atol=1e-6)
    assert not np.allclose(results.means[:, 1], results.means[:, 0])  # the belief moves with the data


def test_dqn_policy_on_the_grid_runs_deterministically():
    torch.manual_seed(0)
    encoder = BeliefEncoder(obs_dim=2, action_dim=5, latent_dim=5, hidden_size=16, action_embed=0, reward_embed=8)
    agent = BeliefAgent(encoder, OfflineDQN(12, 5, (16,)), num_actions=5)
    goals = GridNaviFamily().sample_tasks(4, np.random.default_rng(1))
    first = evaluate_meta_episodes(agent, GridNaviFamily(), goals, 4)
    second = evaluate_meta_episodes(agent, GridNaviFamily(), goals, 4)
    np.testing.assert_array_equal(first.returns, second.returns)
    np.testing.assert_array_equal(first.observations, second.observations)
