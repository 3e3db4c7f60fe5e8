"""TD3Agent: target smoothing, clipped double-Q targets, delayed actor updates, Polyak targets, a tiny run."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from tensordict import TensorDict

from rlkit.agents.td3 import TD3Agent
from rlkit.agents.td3_training import TD3TrainConfig, UniformReplay, train_td3_online
from rlkit.data import keys as K


def _batch(n: int = 4, state_dim: int = 3, act_dim: int = 2, terminated=None) -> TensorDict:
    g = torch.Generator().manual_seed(0)
    term = torch.zeros(n, 1, dtype=torch.bool) if terminated is None else torch.tensor(terminated).reshape(n, 1)
    return TensorDict(
        {
            K.OBS: torch.randn(n, state_dim, generator=g),
            K.ACTION: torch.rand(n, act_dim, generator=g) * 2 - 1,
            K.NEXT_OBS: torch.randn(n, state_dim, generator=g),
            K.REWARD: torch.arange(n, dtype=torch.float32).reshape(n, 1),
            K.TERMINATED: term,
        },
        batch_size=[n],
    )


def _make_constant(mlp: torch.nn.Sequential, value: float) -> None:
    """Zero the last Linear's weights and set its bias: the MLP then outputs ``value`` (before any tanh)."""
    last = [m for m in mlp if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(value)


def test_target_smoothing_noise_is_clipped_and_actions_stay_in_the_box():
    agent = TD3Agent(3, 2, hidden_sizes=(8,), policy_noise=10.0, noise_clip=0.5)
    _make_constant(agent.actor_target, math.atanh(0.8))
    torch.manual_seed(0)
    actions = agent.smoothed_target_action(torch.randn(5000, 3))
    assert actions.min() >= 0.8 - 0.5 - 1e-6  # noise clipped at -0.5
    assert actions.max() <= 1.0  # action clipped at the box
    # with std 10, almost every draw is clipped: about half at 0.3, the other half at the box edge 1.0
    assert 0.4 < (actions - 0.3).abs().lt(1e-5).float().mean() < 0.6
    assert 0.4 < (actions == 1.0).float().mean() < 0.6
    no_noise = TD3Agent(3, 2, hidden_sizes=(8,), policy_noise=0.0)
    _make_constant(no_noise.actor_target, math.atanh(0.8))
    assert torch.allclose(no_noise.smoothed_target_action(torch.randn(7, 3)), torch.full((7, 2), 0.8))


def test_td_target_uses_min_of_twin_targets_and_stops_at_termination():
    agent = TD3Agent(3, 2, hidden_sizes=(8,), gamma=0.9)
    _make_constant(agent.critic_target.q1, 5.0)
    _make_constant(agent.critic_target.q2, 3.0)
    batch = _batch(4, terminated=[False, True, False, True])
    y = agent.td_target(batch)
    expected = torch.tensor([[0 + 0.9 * 3.0], [1.0], [2 + 0.9 * 3.0], [3.0]])
    assert torch.allclose(y, expected)


def test_critic_loss_is_sum_of_both_critics_mse():
    agent = TD3Agent(3, 2, hidden_sizes=(8,), gamma=0.5)
    _make_constant(agent.critic_target.q1, 2.0)
    _make_constant(agent.critic_target.q2, 4.0)
    _make_constant(agent.critic.q1, 1.0)
    _make_constant(agent.critic.q2, -1.0)
    batch = _batch(2)  # rewards 0, 1 -> y = 1, 2
    loss, _ = agent.critic_loss(batch)
    expected = ((1 - 1) ** 2 + (1 - 2) ** 2) / 2 + ((-1 - 1) ** 2 + (-1 - 2) ** 2) / 2
    assert loss.item() == pytest.approx(expected)


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def test_actor_and_targets_move_only_every_policy_delay_updates_with_polyak_rate():
    torch.manual_seed(0)
    agent = TD3Agent(3, 2, hidden_sizes=(8,), policy_delay=3, tau=0.25)
    batch = _batch(8)
    for call in range(1, 7):
        actor, critic = _flat(agent.actor), _flat(agent.critic)
        actor_t, critic_t = _flat(agent.actor_target), _flat(agent.critic_target)
        out = agent.update(batch)
        assert not torch.equal(_flat(agent.critic), critic)  # the critic steps every call
        if call % 3:
            assert "loss_actor" not in out
            assert torch.equal(_flat(agent.actor), actor)
            assert torch.equal(_flat(agent.actor_target), actor_t)
            assert torch.equal(_flat(agent.critic_target), critic_t)
        else:
            assert "loss_actor" in out
            assert not torch.equal(_flat(agent.actor), actor)
            # target <- (1 - tau) target + tau * online (the online nets after this call's steps)
            assert torch.allclose(_flat(agent.actor_target), 0.75 * actor_t + 0.25 * _flat(agent.actor), atol=1e-6)
            assert torch.allclose(_flat(agent.critic_target), 0.75 * critic_t + 0.25 * _flat(agent.critic),
                                  atol=1e-6)
    assert int(agent.num_updates) == 6


def test_actor_step_leaves_the_critic_gradients_of_its_own_step_untouched():
    agent = TD3Agent(3, 2, hidden_sizes=(8,), policy_delay=1)
    recorded = []
    critic_step = agent.critic_optim.step

    def record_then_step(*args, **kwargs):
        recorded.append([p.grad.clone() for p in agent.critic.parameters()])
        return critic_step(*args, **kwargs)

    agent.critic_optim.step = record_then_step
    out = agent.update(_batch(8))
    assert "loss_actor" in out
    for grad, before in zip([p.grad for p in agent.critic.parameters()], recorded[0]):
        assert torch.equal(grad, before)  # the actor's backward pass added nothing to the critic
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.actor.parameters())
    assert all(p.requires_grad for p in agent.critic.parameters())


def test_state_dict_round_trip_restores_networks_targets_and_optimisers():
    torch.manual_seed(0)
    agent = TD3Agent(3, 2, hidden_sizes=(8,))
    for _ in range(4):
        agent.update(_batch(8))
    clone = TD3Agent(3, 2, hidden_sizes=(8,))
    clone.load_state_dict(agent.state_dict())
    assert torch.equal(_flat(clone.actor_target), _flat(agent.actor_target))
    assert int(clone.num_updates) == 4
    assert clone.critic_optim.state_dict()["state"][0]["step"] == agent.critic_optim.state_dict()["state"][0]["step"]
    torch.manual_seed(1)
    a = agent.update(_batch(8))
    torch.manual_seed(1)
    b = clone.update(_batch(8))
    assert a == pytest.approx(b)


def test_act_adds_clipped_noise_and_checks_shape():
    agent = TD3Agent(3, 2, hidden_sizes=(8,))
    clean = agent.act(np.zeros((500, 3)))
    noisy = agent.act(np.zeros((500, 3)), noise=5.0, generator=np.random.default_rng(0))
    assert noisy.shape == (500, 2) and np.abs(noisy).max() <= 1.0
    assert (np.abs(noisy) == 1.0).mean() > 0.5 and np.abs(clean).max() < 1.0
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        agent.act(np.zeros(4))


def test_uniform_replay_is_fifo_and_samples_stored_rows():
    replay = UniformReplay(3, 1, 1)
    for i in range(5):
        replay.add(np.array([i]), np.array([0.0]), float(i), np.array([i + 1]), i == 4)
    assert len(replay) == 3
    batch = replay.sample(200, torch.Generator().manual_seed(0))
    assert set(batch[K.OBS].reshape(-1).tolist()) == {2.0, 3.0, 4.0}  # the two oldest were overwritten
    assert torch.equal(batch[K.REWARD], batch[K.OBS])
    assert torch.equal(batch[K.TERMINATED].reshape(-1), batch[K.OBS].reshape(-1) == 4)


class PointLine(gym.Env):
    """x0 ~ U(-1, 1); x' = clip(x + 0.2 a, -2, 2); reward -|x'|; 10 steps. Standing still scores about -5."""

    observation_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-1.0, 1.0)
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.2 * float(action[0]), -2.0, 2.0))
        return np.array([self.x], np.float32), -abs(self.x), False, False, {}


def test_tiny_td3_run_learns_to_walk_to_the_origin():
    if "rlkit-test/PointLine-v0" not in gym.registry:
        gym.register("rlkit-test/PointLine-v0", entry_point=PointLine)
    config = TD3TrainConfig(hidden_sizes=(32, 32), batch_size=64, learning_rate=1e-3, start_steps=200,
                            eval_interval=200, eval_episodes=20, max_episode_steps=10, gamma=0.9)
    result = train_td3_online("rlkit-test/PointLine-v0", seed=0, max_steps=1000, config=config, progress=False)
    assert [step for step, _ in result.curve] == [200, 400, 600, 800, 1000]
    # standing still scores about -5 (E|x0| = 0.5, 10 steps); walking to 0 at 0.2 per step about -0.6
    assert result.curve[0][1] < -3.0, result.curve  # the untrained actor (no update before step 200)
    assert result.eval_return > -1.5, result.curve
    assert result.updates == 800 and not result.target_reached


def test_training_stops_at_the_first_evaluation_reaching_the_target():
    if "rlkit-test/PointLine-v0" not in gym.registry:
        gym.register("rlkit-test/PointLine-v0", entry_point=PointLine)
    config = TD3TrainConfig(hidden_sizes=(8,), batch_size=8, start_steps=50, eval_interval=100, eval_episodes=2,
                            max_episode_steps=10)
    result = train_td3_online("rlkit-test/PointLine-v0", seed=0, max_steps=10_000, target_return=-100.0,
                              config=config, progress=False)
    assert result.target_reached and result.env_steps == 100 and len(result.curve) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"gamma": 1.5}, "gamma"), ({"policy_delay": 0}, "policy_delay"), ({"policy_noise": -0.1}, "policy_noise")],
)
def test_bad_settings_are_refused_with_the_setting_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TD3Agent(3, 2, **kwargs)


def test_discrete_action_env_is_refused_by_name():
    with pytest.raises(ValueError, match="CartPole-v1"):
        train_td3_online("CartPole-v1", seed=0, max_steps=10, progress=False)
