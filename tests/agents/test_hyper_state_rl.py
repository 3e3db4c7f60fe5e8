"""Offline RL on hyper-states: task x transition sampling, relabelling, DQN/SAC targets and learning, the loop."""

from __future__ import annotations

import math

import pytest
import torch
from tensordict import TensorDict

from rlkit.agents.hyper_state_rl import TaskTransitions, hyper_state_transitions, train_hyper_state_agent
from rlkit.agents.offline_dqn import OfflineDQN, action_indices
from rlkit.agents.offline_sac import OfflineSAC, TanhGaussianActor
from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.data.task_folders import TRAJECTORY_KEYS
from rlkit.modules.belief import BeliefEncoder
from rlkit.trainers.guards import NonFiniteLossError


def _transitions(obs, action, reward, next_obs, terminated=None) -> TensorDict:
    n = obs.shape[0]
    terminated = torch.zeros(n, 1, dtype=torch.bool) if terminated is None else terminated
    return TensorDict({OBS: obs, ACTION: action, REWARD: reward, NEXT_OBS: next_obs, TERMINATED: terminated},
                      batch_size=[n])


def _trajectories(b: int, h: int, obs_dim: int = 2, action_dim: int = 2, seed: int = 0) -> TensorDict:
    g = torch.Generator().manual_seed(seed)
    states = torch.randn(b, h + 1, obs_dim, generator=g)
    goal = torch.zeros(b, h, 1, dtype=torch.bool)
    goal[:, 1] = True
    return TensorDict({
        "obs": states[:, :-1], "action": torch.rand(b, h, action_dim, generator=g) * 2 - 1,
        "reward": torch.randn(b, h, 1, generator=g), "next_obs": states[:, 1:],
        "done": torch.zeros(b, h, 1, dtype=torch.bool), "terminated": torch.zeros(b, h, 1, dtype=torch.bool),
        "goal_reached": goal, "task": torch.zeros(b, 2),
    }, batch_size=[b])


# ------------------------------------------------------------------------------------------------------- sampling
def test_sample_draws_distinct_tasks_and_rows_of_each_task():
    counts = [3, 5, 7, 2]
    per_task = [_transitions(torch.full((c, 1), float(i)), torch.zeros(c, 1), torch.zeros(c, 1), torch.zeros(c, 1))
                for i, c in enumerate(counts)]
    transitions = TaskTransitions.from_tasks(per_task)
    assert transitions.offsets.tolist() == [0, 3, 8, 15, 17]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        batch = transitions.sample(3, 50, g)
        tasks = batch.get("task_index").reshape(3, 50)
        assert len(set(tasks[:, 0].tolist())) == 3  # without replacement (the original's bug 5)
        assert (batch.get(OBS).reshape(3, 50) == tasks.float()).all()  # every row comes from its block's task
    batch = transitions.sample(10, 4000, g)  # more tasks asked than exist: each task once
    assert sorted(batch.get("task_index").unique().tolist()) == [0, 1, 2, 3]
    rows_of_task3 = batch.get(OBS)[batch.get("task_index") == 3]
    assert rows_of_task3.numel() == 4000
    with pytest.raises(ValueError, match="meta_batch"):
        transitions.sample(0, 4)


def test_sample_is_uniform_within_a_task():
    n = 4
    per_task = [_transitions(torch.arange(n, dtype=torch.float32)[:, None], torch.zeros(n, 1), torch.zeros(n, 1),
                             torch.zeros(n, 1))]
    batch = TaskTransitions.from_tasks(per_task).sample(1, 40000, torch.Generator().manual_seed(1))
    frequencies = torch.bincount(batch.get(OBS).long().reshape(-1), minlength=n).float() / 40000
    assert torch.allclose(frequencies, torch.full((n,), 0.25), atol=0.01)


# --------------------------------------------------------------------------------------------------- relabelling
def test_hyper_state_transitions_shapes_prior_and_chaining():
    torch.manual_seed(0)
    encoder = BeliefEncoder(obs_dim=2, action_dim=2, latent_dim=3, hidden_size=16)
    trajectories = [_trajectories(3, 6, seed=s) for s in range(2)]
    out = hyper_state_transitions(encoder, trajectories)
    assert set(TRAJECTORY_KEYS) >= {"obs", "action"}
    assert out.num_tasks == 2 and out.counts.tolist() == [18, 18]
    obs, next_obs = out.data.get(OBS), out.data.get(NEXT_OBS)
    assert obs.shape == (36, 2 + 6) and next_obs.shape == (36, 2 + 6)
    prior_mean, prior_logvar, _ = encoder.prior(1)
    first = obs.reshape(2, 3, 6, 8)[:, :, 0]
    assert torch.allclose(first[..., 2:5], prior_mean.expand(2, 3, 3), atol=1e-6)
    assert torch.allclose(first[..., 5:], prior_logvar.expand(2, 3, 3), atol=1e-6)
    # within a trajectory, s+_{t+1} of step t is s+ of step t+1 (the stored states chain)
    chained = obs.reshape(2, 3, 6, 8)[:, :, 1:]
    assert torch.allclose(next_obs.reshape(2, 3, 6, 8)[:, :, :-1], chained, atol=1e-6)
    # goal hits are not terminals (bug 4) unless the original's behaviour is asked for
    assert not out.data.get(TERMINATED).any()
    legacy = hyper_state_transitions(encoder, trajectories, goal_hits_as_terminals=True)
    assert legacy.data.get(TERMINATED).reshape(2, 3, 6)[:, :, 1].all()
    assert legacy.data.get(TERMINATED).sum() == 6


def test_hyper_state_transitions_rejects_tasks_that_disagree():
    encoder = BeliefEncoder(obs_dim=2, action_dim=2, latent_dim=3, hidden_size=16)
    bad = _trajectories(2, 4, obs_dim=2, action_dim=3)
    with pytest.raises(Exception, match="task 1: 'action' has per-step shape"):
        hyper_state_transitions(encoder, [_trajectories(2, 4), bad])


# ------------------------------------------------------------------------------------------------------------ DQN
def test_action_indices_accepts_one_hot_and_indices():
    assert action_indices(torch.eye(3)[[2, 0]], 3).tolist() == [2, 0]
    assert action_indices(torch.tensor([[1], [2]]), 3).tolist() == [1, 2]
    with pytest.raises(ValueError, match="one-hot"):
        action_indices(torch.zeros(2, 2, 2), 3)


@pytest.mark.parametrize("double_dqn", [False, True])
def test_dqn_loss_matches_a_hand_computed_target(double_dqn):
    torch.manual_seed(0)
    agent = OfflineDQN(2, 3, (8,), gamma=0.5, double_dqn=double_dqn)
    agent.target_network[0].bias.data += 1.0  # make target and online networks differ
    obs, next_obs = torch.randn(4, 2), torch.randn(4, 2)
    action = torch.tensor([0, 2, 1, 1])
    reward = torch.tensor([[1.0], [0.0], [-1.0], [2.0]])
    terminated = torch.tensor([[False], [True], [False], [False]])
    loss, _ = agent.loss(_transitions(obs, torch.eye(3)[action], reward, next_obs, terminated))
    with torch.no_grad():
        target_q = agent.target_network(next_obs)
        pick = agent.q_network(next_obs).argmax(-1) if double_dqn else target_q.argmax(-1)
        bootstrap = target_q[torch.arange(4), pick]
        target = reward[:, 0] + 0.5 * bootstrap * torch.tensor([1.0, 0.0, 1.0, 1.0])
        expected = (agent.q_network(obs)[torch.arange(4), action] - target).pow(2).mean()
    assert torch.allclose(loss, expected, atol=1e-6)


def test_dqn_learns_a_bandit_and_cql_pushes_unseen_actions_down():
    def run(cql_weight: float) -> torch.Tensor:
        torch.manual_seed(0)
        agent = OfflineDQN(1, 3, (16,), gamma=0.0, lr=1e-2, cql_weight=cql_weight)
        obs = torch.ones(64, 1)
        action = torch.tensor([0, 1] * 32)  # action 2 never appears in the data
        reward = (action == 1).float().unsqueeze(-1)
        batch = _transitions(obs, action.unsqueeze(-1), reward, obs)
        for _ in range(300):
            agent.update(batch)
        return agent.q_network(torch.ones(1, 1))[0].detach()

    q = run(0.0)
    assert abs(q[0]) < 0.05 and abs(q[1] - 1) < 0.05  # Q = E[r | a] with gamma 0
    q_cql = run(1.0)
    assert q_cql[2] < q[2] - 0.5 and q_cql[1] > q_cql[2]


# ------------------------------------------------------------------------------------------------------------ SAC
def test_tanh_gaussian_log_prob_matches_change_of_variables():
    torch.manual_seed(0)
    actor = TanhGaussianActor(3, 1, (8,))
    obs = torch.randn(5, 3)
    torch.manual_seed(1)
    action, log_prob = actor(obs)
    mean, log_std = actor.net(obs).chunk(2, -1)
    pre = torch.atanh(action.clamp(-1 + 1e-6, 1 - 1e-6))
    normal = torch.distributions.Normal(mean, log_std.clamp(-20, 2).exp())
    expected = normal.log_prob(pre) - torch.log1p(-action.pow(2))
    assert torch.allclose(log_prob, expected, atol=1e-3)


def test_sac_critic_target_uses_fixed_alpha_and_terminals():
    torch.manual_seed(0)
    agent = OfflineSAC(2, 1, (8,), gamma=0.9, alpha=0.3)
    obs, next_obs, action = torch.randn(3, 2), torch.randn(3, 2), torch.rand(3, 1)
    reward = torch.tensor([[1.0], [2.0], [3.0]])
    terminated = torch.tensor([[False], [True], [False]])
    torch.manual_seed(5)
    loss, _ = agent.critic_loss(_transitions(obs, action, reward, next_obs, terminated))
    torch.manual_seed(5)
    with torch.no_grad():
        next_action, next_log_prob = agent.actor(next_obs)
        next_q = agent.q_values(next_obs, next_action, target=True).min(0).values - 0.3 * next_log_prob
        target = reward + 0.9 * torch.tensor([[1.0], [0.0], [1.0]]) * next_q
        q = agent.q_values(obs, action)
        expected = ((q[0] - target).pow(2).mean() + (q[1] - target).pow(2).mean())
    assert torch.allclose(loss, expected, atol=1e-5)


def _bandit_batch(n: int = 256) -> TensorDict:
    g = torch.Generator().manual_seed(0)
    context = torch.randint(0, 2, (n, 1), generator=g).float() * 2 - 1
    action = torch.rand(n, 1, generator=g) * 2 - 1
    reward = -(action - 0.5 * context).pow(2)
    return _transitions(context, action, reward, context)


def test_sac_learns_a_contextual_bandit_with_fixed_alpha():
    torch.manual_seed(0)
    agent = OfflineSAC(1, 1, (32,), gamma=0.0, alpha=0.01, actor_lr=1e-2, critic_lr=1e-2)
    batch = _bandit_batch(128)
    for _ in range(200):
        metrics = agent.update(batch)
    assert float(metrics["alpha"]) == pytest.approx(0.01)
    best = agent.act(torch.tensor([[-1.0], [1.0]]))
    assert torch.allclose(best, torch.tensor([[-0.5], [0.5]]), atol=0.15)


def test_sac_auto_entropy_updates_alpha_towards_the_target():
    # bug 6 of the original: automatic entropy tuning crashed. A target far above the policy's entropy raises alpha,
    # one far below lowers it.
    batch = _bandit_batch()
    alphas = {}
    for target in (5.0, -5.0):
        torch.manual_seed(0)
        agent = OfflineSAC(1, 1, (16,), gamma=0.0, alpha=0.1, auto_entropy=True, target_entropy=target, alpha_lr=1e-2)
        for _ in range(30):
            agent.update(batch)
        alphas[target] = float(agent.alpha)
    assert alphas[5.0] > 0.1 > alphas[-5.0]


def test_sac_cql_penalty_is_reported_and_lowers_q_off_data():
    torch.manual_seed(0)
    batch = _bandit_batch(64)
    batch.set(ACTION, torch.zeros(64, 1))  # the data only ever take a = 0
    q_far = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        agent = OfflineSAC(1, 1, (32,), gamma=0.0, alpha=0.01, critic_lr=1e-2, cql_weight=weight, cql_samples=4)
        for _ in range(80):
            metrics = agent.update(batch)
        q_far[weight] = float(agent.q_values(torch.ones(1, 1), torch.ones(1, 1)).min().detach())
    assert "loss_cql" in metrics
    assert q_far[5.0] < q_far[0.0] - 0.2


# ----------------------------------------------------------------------------------------------------------- loop
def test_train_loop_calls_back_per_iteration_and_stops_on_non_finite():
    n = 16
    obs = torch.randn(n, 2)
    good = TaskTransitions.from_tasks([_transitions(obs, torch.zeros(n, 1), torch.ones(n, 1), obs)] * 2)
    seen = []
    agent = OfflineDQN(2, 2, (8,))
    summary = train_hyper_state_agent(agent, good, iterations=3, updates_per_iteration=4, meta_batch=2, batch_size=8,
                                      on_iteration=lambda i, m: seen.append((i, sorted(m))))
    assert [i for i, _ in seen] == [0, 1, 2] and "loss_q" in seen[0][1] and summary["loss_q"] >= 0
    bad = TaskTransitions.from_tasks([_transitions(obs, torch.zeros(n, 1), torch.full((n, 1), float("nan")), obs)])
    with pytest.raises(NonFiniteLossError):
        train_hyper_state_agent(agent, bad, iterations=1, updates_per_iteration=2, meta_batch=1, batch_size=4)


def test_cosine_schedule_anneals_every_optimiser_to_zero():
    n = 16
    obs = torch.randn(n, 1)
    data = TaskTransitions.from_tasks([_transitions(obs, torch.rand(n, 1) * 2 - 1, torch.ones(n, 1), obs)] * 2)
    agent = OfflineSAC(1, 1, (8,), actor_lr=1e-3, critic_lr=2e-3)
    rates = []
    train_hyper_state_agent(agent, data, iterations=4, updates_per_iteration=2, meta_batch=2, batch_size=4,
                            lr_schedule="cosine", on_iteration=lambda i, m: rates.append(
                                (agent.actor_optim.param_groups[0]["lr"], agent.critic_optim.param_groups[0]["lr"])))
    # after 2, 4, 6, 8 of 8 updates: base * (1 + cos(pi * k / 8)) / 2
    expected = [0.5 * (1 + math.cos(math.pi * k / 8)) for k in (2, 4, 6, 8)]
    assert [r[0] for r in rates] == pytest.approx([1e-3 * f for f in expected], abs=1e-12)
    assert [r[1] for r in rates] == pytest.approx([2e-3 * f for f in expected], abs=1e-12)
    constant = OfflineSAC(1, 1, (8,), actor_lr=1e-3)
    train_hyper_state_agent(constant, data, iterations=2, updates_per_iteration=2, meta_batch=2, batch_size=4)
    assert constant.actor_optim.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="lr_schedule must be 'constant' or 'cosine'; got 'linear'"):
        train_hyper_state_agent(agent, data, iterations=1, updates_per_iteration=1, lr_schedule="linear")
