"""Online TD3 training on one gymnasium env: a uniform replay and the loop, stopping at a target return.

Why a target return: rlkit's "medium" datasets need a policy that is *partly* trained (D4RL stopped its SAC run
early), so the loop evaluates the deterministic actor every ``eval_interval`` env steps and stops the first time
the mean evaluation return reaches ``target_return``; ``max_steps`` bounds the run when it never does. The result
says which happened (``target_reached``), with the learning curve, so nobody mistakes a weaker policy for the target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from rlkit.agents.td3 import TD3Agent
from rlkit.data import keys as K
from rlkit.trainers.evaluation import evaluate
from rlkit.trainers.guards import check_finite
from rlkit.trainers.progress import progress_bar


class UniformReplay:
    """A FIFO ring of transitions in preallocated tensors, sampled uniformly with replacement.

    Why not TorchRL's ReplayBuffer: adding one env step at a time there builds a TensorDict per step; here ``add``
    writes five tensor rows and ``sample`` is one ``randint`` and five gathers.
    """

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        if capacity < 1:
            raise ValueError(f"UniformReplay: capacity must be >= 1; got {capacity}")
        self.capacity = int(capacity)
        self.obs = torch.zeros(capacity, obs_dim)
        self.action = torch.zeros(capacity, act_dim)
        self.reward = torch.zeros(capacity, 1)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.terminated = torch.zeros(capacity, 1, dtype=torch.bool)
        self.cursor, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        i = self.cursor
        self.obs[i] = torch.from_numpy(np.asarray(obs, dtype=np.float32))
        self.action[i] = torch.from_numpy(np.asarray(action, dtype=np.float32))
        self.reward[i] = float(reward)
        self.next_obs[i] = torch.from_numpy(np.asarray(next_obs, dtype=np.float32))
        self.terminated[i] = bool(terminated)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> TensorDict:
        if self.size == 0:
            raise RuntimeError("UniformReplay.sample: the replay is empty")
        idx = torch.randint(0, self.size, (batch_size,), generator=generator)
        return TensorDict(
            {
                K.OBS: self.obs[idx],
                K.ACTION: self.action[idx],
                K.NEXT_OBS: self.next_obs[idx],
                K.REWARD: self.reward[idx],
                K.TERMINATED: self.terminated[idx],
            },
            batch_size=[batch_size],
        )


@dataclass(frozen=True)
class TD3TrainConfig:
    """Settings of an online TD3 run (defaults: the TD3 paper's, with 10k random warm-up steps)."""

    hidden_sizes: tuple[int, ...] = (256, 256)
    """Hidden layers of the actor and of each critic."""
    batch_size: int = 256
    """Transitions per update."""
    learning_rate: float = 3e-4
    """Adam step size of actor and critic."""
    gamma: float = 0.99
    tau: float = 0.005
    """Polyak rate of the target networks."""
    policy_noise: float = 0.2
    """Std of the target policy smoothing noise."""
    noise_clip: float = 0.5
    policy_delay: int = 2
    """Critic updates per actor (and target) update."""
    exploration_noise: float = 0.1
    """Std of the Gaussian noise added to the actor's action while collecting."""
    start_steps: int = 10_000
    """Env steps of uniform random actions before the actor acts and updates start."""
    replay_size: int = 1_000_000
    eval_interval: int = 5_000
    """Env steps between evaluations (the stopping rule is checked only then)."""
    eval_episodes: int = 5
    max_episode_steps: int = 1000

    def to_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


@dataclass
class TD3TrainResult:
    agent: TD3Agent
    env_steps: int
    updates: int
    eval_return: float
    """Mean deterministic return at the last evaluation (the policy returned)."""
    target_reached: bool
    curve: list[tuple[int, float]] = field(default_factory=list)
    """(env step, mean evaluation return) at every evaluation."""
    wall_time_s: float = 0.0


def make_env(env_id: str, max_episode_steps: int, **env_kwargs) -> gym.Env:
    """``gymnasium.make`` with the time limit set here and actions rescaled to the agent's [-1, 1] box."""
    env = gym.make(env_id, max_episode_steps=max_episode_steps, **env_kwargs)
    space = env.action_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"TD3 needs a 1-D Box action space; {env_id} has {space}")
    if np.any(space.low != -1.0) or np.any(space.high != 1.0):
        env = gym.wrappers.RescaleAction(env, -1.0, 1.0)
    return env


def train_td3_online(
    env_id: str,
    *,
    seed: int,
    max_steps: int,
    target_return: float = float("inf"),
    config: TD3TrainConfig = TD3TrainConfig(),
    progress: bool = True,
    on_eval: Callable[[int, float], None] | None = None,
    env_kwargs: dict | None = None,
) -> TD3TrainResult:
    """Train a ``TD3Agent`` online in ``env_id`` until an evaluation reaches ``target_return`` or ``max_steps``.

    Evaluations (``config.eval_episodes`` deterministic episodes) happen every ``config.eval_interval`` env steps
    and once more at the end if the last step was not one. Truncation by the time limit is not termination: the
    replay stores ``terminated`` only, so the critic bootstraps through time-limit ends.
    """
    if max_steps < 1:
        raise ValueError(f"train_td3_online: max_steps must be >= 1; got {max_steps}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sample_gen = torch.Generator().manual_seed(seed)
    env_kwargs = dict(env_kwargs or {})
    env = make_env(env_id, config.max_episode_steps, **env_kwargs)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = TD3Agent(obs_dim, act_dim, hidden_sizes=config.hidden_sizes, actor_lr=config.learning_rate,
                     critic_lr=config.learning_rate, gamma=config.gamma, tau=config.tau,
                     policy_noise=config.policy_noise, noise_clip=config.noise_clip, policy_delay=config.policy_delay)
    replay = UniformReplay(min(config.replay_size, max_steps), obs_dim, act_dim)

    def evaluate_now() -> float:
        stats = evaluate(lambda o: agent.act(o), lambda: make_env(env_id, config.max_episode_steps, **env_kwargs),
                         config.eval_episodes, num_envs=config.eval_episodes, seed=int(rng.integers(2**31)))
        return float(stats["return_mean"])

    start = time.perf_counter()
    curve: list[tuple[int, float]] = []
    eval_return, reached, losses = float("nan"), False, {}
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    bar = progress_bar(max_steps, desc=f"TD3 {env_id}", enabled=None if progress else False)
    step = 0
    try:
        for step in range(1, max_steps + 1):
            if step <= config.start_steps:
                action = rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)
            else:
                action = agent.act(obs, config.exploration_noise, rng)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            replay.add(obs, action, reward, next_obs, terminated)
            obs = env.reset()[0] if terminated or truncated else next_obs
            if step > config.start_steps:
                losses = agent.update(replay.sample(config.batch_size, sample_gen))
                check_finite(losses, step)
            if step % config.eval_interval == 0 or step == max_steps:
                eval_return = evaluate_now()
                curve.append((step, eval_return))
                if on_eval is not None:
                    on_eval(step, eval_return)
                bar.update(0, {"eval_return": eval_return, **{k: v for k, v in losses.items() if k.startswith("loss")}})
                if eval_return >= target_return:
                    reached = True
                    break
            bar.update(1)
    finally:
        bar.close()
        env.close()
    return TD3TrainResult(agent, step, int(agent.num_updates), eval_return, reached, curve,
                          time.perf_counter() - start)

