"""The flat baseline: SAC from scratch on the raw action space (TorchRL's SACLoss), same env-step budget as PTGM.

No pretraining and no codes: a tanh-Gaussian actor and twin Q critics (``--critic-hidden`` layers each) learn from
the task's sparse reward alone. The first ``warmup * horizon`` env steps act uniformly at random (as many env steps
as PTGM's warm-up); afterwards one gradient step every ``--flat-update-every`` env steps.
"""

from __future__ import annotations

import numpy as np
import torch
from config import PTGMConfig
from episodes import RunSummary, run_episodes
from tensordict import TensorDict
from tensordict.nn import NormalParamExtractor, TensorDictModule
from torch import nn
from torchrl.data import Bounded
from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator
from torchrl.objectives import SACLoss, SoftUpdate

from rlkit.modules.mlp import MLP
from rlkit.trainers import Logger, check_finite, progress_bar


class _QNet(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = MLP(obs_dim + act_dim, 1, hidden)

    def forward(self, observation: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([observation, action], -1))


class TransitionRing:
    """Preallocated transition tensors with uniform sampling: one row written per env step costs microseconds,
    where a TensorDict ``extend`` per step costs milliseconds (it dominated the flat loop's time)."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        self.capacity, self.size, self.cursor = capacity, 0, 0
        self.obs = torch.zeros(capacity, obs_dim)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.action = torch.zeros(capacity, act_dim)
        self.reward = torch.zeros(capacity, 1)
        self.terminated = torch.zeros(capacity, 1, dtype=torch.bool)
        self.truncated = torch.zeros(capacity, 1, dtype=torch.bool)

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool,
            truncated: bool) -> None:
        i = self.cursor
        self.obs[i] = torch.from_numpy(np.asarray(obs, dtype=np.float32))
        self.action[i] = torch.from_numpy(np.asarray(action, dtype=np.float32))
        self.next_obs[i] = torch.from_numpy(np.asarray(next_obs, dtype=np.float32))
        self.reward[i, 0], self.terminated[i, 0], self.truncated[i, 0] = reward, terminated, truncated
        self.cursor, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> TensorDict:
        rows = torch.randint(self.size, (batch_size,), generator=generator)
        terminated, truncated = self.terminated[rows], self.truncated[rows]
        return TensorDict({"observation": self.obs[rows], "action": self.action[rows],
                           "next": {"observation": self.next_obs[rows], "reward": self.reward[rows],
                                    "terminated": terminated, "truncated": truncated,
                                    "done": terminated | truncated}}, [batch_size])


def make_sac(obs_dim: int, act_dim: int, config: PTGMConfig) -> tuple[nn.Module, SACLoss]:
    """The actor's network (obs -> loc, scale) and TorchRL's SAC loss around it (twin critics, learned alpha,
    target entropy -act_dim)."""
    spec = Bounded(-1.0, 1.0, (act_dim,))
    body = nn.Sequential(MLP(obs_dim, 2 * act_dim, config.critic_hidden), NormalParamExtractor())
    actor = ProbabilisticActor(TensorDictModule(body, ["observation"], ["loc", "scale"]), in_keys=["loc", "scale"],
                               distribution_class=TanhNormal, spec=spec, return_log_prob=True)
    qvalue = ValueOperator(_QNet(obs_dim, act_dim, config.critic_hidden), in_keys=["observation", "action"])
    loss = SACLoss(actor, qvalue, num_qvalue_nets=2, loss_function="l2", alpha_init=config.alpha_init,
                   action_spec=spec)
    loss.make_value_estimator(gamma=config.gamma)
    return body, loss


def train_flat_sac(config: PTGMConfig, env, eval_env, logger: Logger, summary: RunSummary) -> None:
    """The SAC loop on ``env`` (flat Box actions in [-1, 1]) until ``config.env_steps`` env steps."""
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    body, loss = make_sac(obs_dim, act_dim, config)
    updater = SoftUpdate(loss, tau=config.tau)
    optimizer = torch.optim.Adam(loss.parameters(), lr=config.lr)
    replay = TransitionRing(config.replay_size, obs_dim, act_dim)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    warmup_steps = config.warmup * config.horizon

    @torch.no_grad()
    def act(obs: np.ndarray, deterministic: bool) -> np.ndarray:
        """The actor's tanh-Gaussian, sampled (or its tanh(mean)) straight from its network: no TensorDict."""
        loc, scale = body(torch.as_tensor(obs, dtype=torch.float32))
        if not deterministic:
            loc = loc + scale * torch.randn(loc.shape, generator=generator)
        return torch.tanh(loc).numpy()

    obs, _ = env.reset(seed=config.seed)
    episode_success, episode = False, 0
    next_eval, metrics = config.eval_every, {}
    with progress_bar(config.env_steps, desc="flat SAC", enabled=None if config.progress else False) as bar:
        for step in range(1, config.env_steps + 1):
            action = rng.uniform(-1, 1, act_dim).astype(np.float32) if step <= warmup_steps else act(obs, False)
            next_obs, reward, terminated, truncated, info = env.step(action)
            replay.add(obs, action, float(reward), next_obs, terminated, truncated)
            episode_success = episode_success or bool(info.get("success", False))
            obs = next_obs
            if terminated or truncated:
                summary.episode_done(episode_success, step)
                logger.log({"train/episode_success": float(episode_success)}, step=step)
                episode += 1
                obs, _ = env.reset(seed=config.seed + 7919 * episode)
                episode_success = False
            if step > warmup_steps and step % config.flat_update_every == 0 and replay.size >= config.batch_size:
                out = loss(replay.sample(config.batch_size, generator))
                total = out["loss_actor"] + out["loss_qvalue"] + out["loss_alpha"]
                check_finite({k: v for k, v in out.items() if k.startswith("loss_")}, step)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                updater.step()
                metrics = {"loss_qvalue": float(out["loss_qvalue"].detach()), "alpha": float(out["alpha"])}
            if step >= next_eval or step == config.env_steps:
                result = run_episodes(lambda o: act(o, True), eval_env,
                                      config.eval_episodes, seed=10_000 + config.seed * 100)
                summary.evaluated(step, result)
                logger.log({f"eval/{k}": v for k, v in result.items()} | metrics, step=step)
                next_eval += config.eval_every
            bar.update(1, metrics if step % 500 == 0 else None)
