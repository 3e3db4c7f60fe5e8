"""DTInference: left-padded per-env contexts, RTG bookkeeping, independent resets, noise, gymnasium autoreset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from torch import nn

from rlkit.agents.dt_inference import DTInference


class SpyPolicy(nn.Module):
    """Interface 2 stand-in: ``predict_last`` returns ``scale * tanh(last state's first feature)`` in every action
    dimension and remembers every window it was shown."""

    def __init__(self, act_dim: int = 1, scale: float = 0.5) -> None:
        super().__init__()
        self.act_dim, self.scale = act_dim, scale
        self.weight = nn.Parameter(torch.zeros(1))  # gives the module a device
        self.seen: list[dict[str, torch.Tensor]] = []

    def predict_last(self, states, actions, returns_to_go, timesteps, mask):
        self.seen.append({"states": states.clone(), "actions": actions.clone(), "rtg": returns_to_go.clone(),
                          "timesteps": timesteps.clone(), "mask": mask.clone(), "training": self.training})
        return (self.scale * torch.tanh(states[:, -1, :1])).expand(-1, self.act_dim) + self.weight

    def forward(self, states, actions, returns_to_go, timesteps, mask):
        mean = self.predict_last(states, actions, returns_to_go, timesteps, mask)
        loc = mean.unsqueeze(1).expand(-1, states.shape[1], -1)
        return torch.distributions.Independent(torch.distributions.Normal(loc, 0.3), 1)


class CounterEnv(gym.Env):
    """Observation (t, episode, 0); episode k of this env lasts ``base + k`` steps and step t pays ``t + 1``."""

    def __init__(self, base: int) -> None:
        self.base, self.episode, self.t = base, -1, 0
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.episode, 0.0], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return self._obs(), {}

    def step(self, action):
        assert self.t < self.base + self.episode, "stepped past the end of an episode"
        self.t += 1
        return self._obs(), float(self.t), self.t >= self.base + self.episode, False, {}


def make_agent(policy, num_envs=2, context_length=3, **kw) -> DTInference:
    defaults = dict(target_return=10.0, reward_scale=0.5, state_mean=np.zeros(3), state_std=np.ones(3) * 2.0)
    defaults.update(kw)
    return DTInference(policy, num_envs=num_envs, context_length=context_length, **defaults)


def obs_at(t: float, n: int = 2) -> np.ndarray:
    return np.tile(np.array([t, 0.0, 1.0], dtype=np.float32), (n, 1))


def test_context_is_left_padded_before_k_steps():
    policy = SpyPolicy()
    agent = make_agent(policy, context_length=4)
    a0 = agent.act(obs_at(0.0))
    agent.observe([2.0, 1.0], [False, False])
    agent.act(obs_at(4.0))
    seen = policy.seen[-1]
    assert seen["mask"].tolist() == [[False, False, True, True]] * 2
    # normalised states (s - 0) / 2 at the two real positions, zeros in the padding
    assert torch.equal(seen["states"][0, 2:, 0], torch.tensor([0.0, 2.0]))
    assert torch.equal(seen["states"][:, :2], torch.zeros(2, 2, 3))
    # the action taken at step 0 is in the window; the current step's action slot is zero
    assert torch.allclose(seen["actions"][:, 2], torch.as_tensor(a0))
    assert torch.equal(seen["actions"][:, 3], torch.zeros(2, 1))
    # rtg = target * scale = 5, then 5 - r * 0.5 per env
    assert torch.allclose(seen["rtg"][:, 2:, 0], torch.tensor([[5.0, 4.0], [5.0, 4.5]]))
    assert seen["timesteps"].tolist() == [[0, 0, 0, 1]] * 2
    assert seen["training"] is False  # rollouts run in eval mode


def test_context_keeps_the_last_k_steps():
    policy = SpyPolicy()
    agent = make_agent(policy, num_envs=1, context_length=3, target_return=0.0, reward_scale=1.0)
    for t in range(6):
        agent.act(obs_at(float(t), n=1))
        agent.observe([1.0], [False])
    agent.act(obs_at(6.0, n=1))
    seen = policy.seen[-1]
    assert seen["mask"].all()
    assert seen["states"][0, :, 0].tolist() == [2.0, 2.5, 3.0]  # s_4, s_5, s_6 over std 2
    assert seen["timesteps"].tolist() == [[4, 5, 6]]
    assert seen["rtg"][0, :, 0].tolist() == [-4.0, -5.0, -6.0]


def test_resets_are_per_env_and_rtg_timesteps_restart():
    policy = SpyPolicy()
    agent = make_agent(policy, context_length=3)
    for t in range(2):
        agent.act(obs_at(float(t)))
        agent.observe([1.0, 1.0], [False, t == 1])  # env 1's episode ends after two steps
    assert agent.timestep.tolist() == [2, 0]
    assert agent.return_to_go.tolist() == [4.0, 5.0]
    # next-step autoreset: env 1's next act is the placeholder reset step, env 0 continues
    actions = agent.act(obs_at(2.0))
    assert actions[1, 0] == 0.0  # midpoint of [-1, 1], never seen by the policy
    assert policy.seen[-1]["states"].shape[0] == 1  # only env 0 was shown to the policy
    assert policy.seen[-1]["mask"].tolist() == [[True, True, True]]
    agent.observe([1.0, 123.0], [False, False])  # env 1's reward on its reset step is ignored
    agent.act(obs_at(7.0))
    ctx = agent.context()
    assert ctx["mask"].tolist() == [[True, True, True], [False, False, True]]
    assert ctx["timestep"].tolist() == [[1, 2, 3], [0, 0, 0]]
    assert ctx["return_to_go"][1, -1, 0].item() == 5.0
    assert ctx["return_to_go"][0, :, 0].tolist() == [4.5, 4.0, 3.5]
    assert ctx["observation"][1, -1, 0].item() == 3.5


def test_same_step_mode_starts_the_new_context_immediately():
    policy = SpyPolicy()
    agent = make_agent(policy, context_length=2, autoreset_mode=AutoresetMode.SAME_STEP)
    agent.act(obs_at(0.0))
    agent.observe([1.0, 1.0], [True, False])
    agent.act(obs_at(9.0))
    assert policy.seen[-1]["mask"].tolist() == [[False, True], [True, True]]


def test_reset_clears_only_the_given_envs_and_max_timestep_caps():
    agent = make_agent(SpyPolicy(), context_length=2, max_timestep=1)
    for t in range(3):
        agent.act(obs_at(float(t)))
        agent.observe([1.0, 1.0], [False, False])
    agent.reset([0])
    agent.act(obs_at(3.0))
    ctx = agent.context()
    assert ctx["mask"].tolist() == [[False, True], [True, True]]
    assert ctx["timestep"].tolist() == [[0, 0], [1, 1]]  # env 1 is at step 3, capped at 1


def test_exploration_noise_only_when_asked_and_clipped():
    n = 4000
    clean = make_agent(SpyPolicy(scale=0.5), num_envs=n, context_length=1)
    actions = clean.act(np.zeros((n, 3)))
    assert np.all(actions == 0.0)

    noisy = make_agent(SpyPolicy(scale=0.5), num_envs=n, context_length=1, exploration_noise=0.2,
                       generator=torch.Generator().manual_seed(0))
    actions = noisy.act(np.zeros((n, 3)))
    assert abs(actions.mean()) < 0.02 and abs(actions.std() - 0.2) < 0.01

    # policy output 0.5 * tanh(10) ~ 0.5 plus N(0, 1) noise is clipped to [-0.3, 0.7]
    clipped = make_agent(SpyPolicy(scale=0.5), num_envs=n, context_length=1, exploration_noise=1.0,
                         action_low=-0.3, action_high=0.7, state_std=np.ones(3) * 0.1)
    actions = clipped.act(np.ones((n, 3)))
    assert actions.min() == pytest.approx(-0.3) and actions.max() == pytest.approx(0.7)
    assert 0.1 < (actions == np.float32(0.7)).mean() < 0.6  # P(0.5 + N(0,1) > 0.7) ~ 0.42
    # the context holds the executed (noisy, clipped) action
    assert np.allclose(clipped.context()["action"][:, -1].numpy(), actions)


def test_sampling_from_a_stochastic_policy():
    agent = make_agent(SpyPolicy(scale=0.0), num_envs=2000, context_length=1, sample=True)
    actions = agent.act(np.zeros((2000, 3)))
    assert abs(actions.std() - 0.3) < 0.02
    deterministic = make_agent(SpyPolicy(scale=0.0), num_envs=3, context_length=1)
    assert np.all(deterministic.act(np.zeros((3, 3))) == 0.0)


def test_works_with_a_next_step_autoreset_vector_env():
    envs = SyncVectorEnv([lambda: CounterEnv(base=2), lambda: CounterEnv(base=3)])
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    policy = SpyPolicy()
    agent = make_agent(policy, context_length=4, record=True, state_std=np.ones(3),
                       autoreset_mode=envs.metadata["autoreset_mode"], target_return=20.0, reward_scale=1.0)
    obs, _ = envs.reset(seed=0)
    first_obs_of_episode = {0: [], 1: []}
    for _ in range(9):
        new_episode = agent.timestep.numpy() == 0
        actions = agent.act(obs)
        for i in np.flatnonzero(new_episode & ~agent._pending_reset):
            first_obs_of_episode[int(i)].append(obs[i].copy())
            # a fresh context holds exactly the reset observation
            assert agent.context()["mask"][i].tolist() == [False, False, False, True]
            assert torch.equal(agent.context()["observation"][i, -1], torch.as_tensor(obs[i]))
        obs, reward, terminated, truncated, _ = envs.step(actions)
        agent.observe(reward, terminated | truncated, terminated=terminated)
    envs.close()
    # every context start is a reset observation (t = 0), never a terminal one
    for starts in first_obs_of_episode.values():
        assert all(o[0] == 0.0 for o in starts)

    episodes = agent.pop_episodes()
    # env 0: episodes of 2, 3 steps then reset steps at 3 and 7 (9 env steps -> episodes end at steps 2 and 6);
    # env 1: episodes of 3, 4 steps (ends at steps 3 and 8)
    lengths = torch.bincount(episodes["episode"]).tolist()
    assert sorted(lengths) == [2, 3, 3, 4]
    assert agent.pop_episodes() is None
    # no placeholder transition: every recorded step has reward t + 1 where t is its observation's counter
    assert torch.equal(episodes["next", "reward"][:, 0], episodes["observation"][:, 0] + 1)
    # s' is the next observation and, at the end, the final observation (t = episode length)
    assert torch.equal(episodes["next", "observation"][:, 0], episodes["observation"][:, 0] + 1)
    assert episodes["has_next"].all()
    ends = episodes["next", "done"][:, 0]
    assert torch.equal(ends, episodes["next", "terminated"][:, 0])
    assert int(ends.sum()) == 4 and bool(ends[-1])
    # each episode is one env's episode: the episode counter (obs[1]) is constant within it
    for e in range(4):
        rows = episodes["episode"] == e
        assert episodes["observation"][rows, 1].unique().numel() == 1


def test_same_step_recording_uses_final_observations():
    agent = make_agent(SpyPolicy(), num_envs=1, context_length=2, record=True, autoreset_mode="same_step")
    agent.act(obs_at(0.0, 1))
    agent.observe([1.0], [False])
    agent.act(obs_at(1.0, 1))
    agent.observe([2.0], [True], terminated=[False], final_observations=obs_at(2.0, 1))
    agent.act(obs_at(0.0, 1))
    agent.observe([1.0], [True])  # a one-step episode without its final observation
    episodes = agent.pop_episodes()
    assert episodes["next", "observation"][:, 0].tolist() == [1.0, 2.0, 0.0]
    assert episodes["has_next"].tolist() == [True, True, False]
    assert episodes["next", "truncated"][:, 0].tolist() == [False, True, False]
    assert episodes["next", "terminated"][:, 0].tolist() == [False, False, True]
    assert episodes["episode"].tolist() == [0, 0, 1]


def test_bad_input_is_rejected():
    policy = SpyPolicy()
    with pytest.raises(ValueError, match="context_length"):
        make_agent(policy, context_length=0)
    with pytest.raises(ValueError, match="not finite"):
        make_agent(policy, target_return=1e30, reward_scale=1e30)
    with pytest.raises(ValueError, match="autoreset_mode"):
        make_agent(policy, autoreset_mode="sometimes")
    agent = make_agent(policy)
    with pytest.raises(ValueError, match=r"expected \(2, 3\)"):
        agent.act(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="without act"):
        agent.observe([0.0, 0.0], [False, False])
    agent.act(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="twice"):
        agent.act(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        agent.observe([np.nan, 0.0], [False, False])
    with pytest.raises(RuntimeError, match="record=False"):
        agent.pop_episodes()


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_feedback_env_drives_contexts_under_evaluate(mode):
    from rlkit.agents.dt_inference import FeedbackVectorEnv
    from rlkit.trainers.evaluation import evaluate

    envs = SyncVectorEnv([lambda: CounterEnv(base=2), lambda: CounterEnv(base=4)], autoreset_mode=mode)
    policy = SpyPolicy()
    agent = make_agent(policy, context_length=3, state_std=np.ones(3), target_return=100.0, reward_scale=0.1,
                       autoreset_mode=mode, record=True)
    result = evaluate(agent.act, FeedbackVectorEnv(envs, agent), num_episodes=4, seed=0)
    envs.close()
    assert sorted(result["lengths"].tolist()) == [2, 3, 4, 5]
    for seen in policy.seen:
        mask = seen["mask"]
        t = seen["states"][..., 0]  # the env's step counter
        # every real position shows the step counter as its timestep, and rtg = 10 - 0.1 * (1 + 2 + ... + t)
        assert torch.equal(t[mask], seen["timesteps"][mask].float())
        assert torch.allclose(seen["rtg"][..., 0][mask], 10.0 - 0.1 * t[mask] * (t[mask] + 1) / 2)
        # and the real steps of a window are consecutive steps of one episode, ending at the current one
        real = torch.where(mask, t, torch.full_like(t, -1.0))
        assert torch.all((real[:, 1:] - real[:, :-1] == 1) | ~mask[:, :-1])
    episodes = agent.pop_episodes()
    assert episodes["has_next"].all()  # final observations came from the step (next-step) or info (same-step)
    assert torch.equal(episodes["next", "observation"][:, 0], episodes["observation"][:, 0] + 1)


def test_feedback_env_rejects_mismatched_agents():
    from rlkit.agents.dt_inference import FeedbackVectorEnv

    envs = SyncVectorEnv([lambda: CounterEnv(base=2)])
    with pytest.raises(ValueError, match="sub-envs"):
        FeedbackVectorEnv(envs, make_agent(SpyPolicy(), num_envs=2))
    with pytest.raises(ValueError, match="autoreset"):
        FeedbackVectorEnv(envs, make_agent(SpyPolicy(), num_envs=1, autoreset_mode="same_step"))
    envs.close()


def test_with_the_real_dt_policies():
    from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy
    from rlkit.modules.transformer import DecisionTransformer

    torch.manual_seed(0)
    policy = DeterministicDTPolicy(DecisionTransformer(3, 2, embed_dim=16, n_layer=1, n_head=2, dropout=0.5), 2)
    policy.train()
    mean, std = np.array([0.5, -1.0, 0.0]), np.array([2.0, 1.0, 0.5])
    agent = DTInference(policy, num_envs=2, context_length=4, target_return=3.0, reward_scale=0.5,
                        state_mean=mean, state_std=std)
    rng = np.random.default_rng(0)
    observations, actions = [], []
    for _ in range(2):
        obs = rng.normal(size=(2, 3)).astype(np.float32)
        observations.append(obs)
        actions.append(agent.act(obs))
        agent.observe([1.0, 2.0], [False, False])
    assert policy.training  # restored after acting in eval mode
    # the agent's (left-padded, dropout-free) action equals the policy's prediction on the two real steps alone
    states = torch.as_tensor((np.stack(observations, 1) - mean) / std, dtype=torch.float32)
    taken = torch.as_tensor(np.stack(actions, 1))
    taken[:, -1] = 0.0
    rtg = torch.tensor([[1.5, 1.0], [1.5, 0.5]]).unsqueeze(-1)
    policy.eval()
    expected = policy.predict_last(states, taken, rtg, torch.tensor([[0, 1]] * 2), torch.ones(2, 2, dtype=torch.bool))
    assert np.allclose(actions[-1], expected.detach().numpy(), atol=1e-5)
    assert np.all(np.abs(actions[-1]) < 1)

    stochastic = StochasticDTPolicy(DecisionTransformer(3, 2, embed_dim=16, n_layer=1, n_head=2), 2)
    sampler = DTInference(stochastic, num_envs=256, context_length=2, target_return=0.0, reward_scale=1.0,
                          state_mean=mean, state_std=std, sample=True)
    sampled = sampler.act(np.zeros((256, 3)))
    greedy = DTInference(stochastic, num_envs=256, context_length=2, target_return=0.0, reward_scale=1.0,
                         state_mean=mean, state_std=std).act(np.zeros((256, 3)))
    assert np.all(np.abs(sampled) <= 1) and sampled.std(axis=0).min() > 0.05
    assert np.allclose(greedy, greedy[0]) and np.abs(sampled.mean(axis=0) - greedy[0]).max() < 0.3
