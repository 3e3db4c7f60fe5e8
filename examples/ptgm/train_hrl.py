"""Stage 4 of PTGM: a high-level policy over goal codes, regularised towards the goal prior, on a sparse task.

    python examples/ptgm/train_hrl.py --small --run-dir runs/ptgm_small --task medium6-centre
    python examples/ptgm/train_hrl.py --small --run-dir runs/ptgm_small --no-prior    # PTGM without the prior term
    python examples/ptgm/train_hrl.py --small --run-dir runs/ptgm_small --flat-sac    # SAC on raw actions

Every high-level step picks a code; the frozen low level (lowlevel.pt) runs towards the code's goal for k env steps
inside ``GoalCodeWrapper``, so the replay receives (s_t, code, summed reward, s_{t+k}) directly. The policy starts
as a copy of the prior (prior.pt) and pays alpha * KL to it (``PriorKLDiscreteSACLoss``); alpha is learned towards
the target KL. ``--no-prior``: a uniform prior and a freshly initialised policy (discrete SAC over the same codes
and low level). ``--flat-sac``: no codes at all (flat_sac.py). Metrics go to
``<run-dir>/hrl_<method>_<task>_s<seed>/`` (metrics.csv, summary.json).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODEBOOK_FILE, LOWLEVEL_FILE, PRIOR_FILE, artefact, load_net, make_task_env  # noqa: E402
from config import PTGMConfig, parse_args  # noqa: E402
from episodes import RunSummary, run_episodes  # noqa: E402
from torchrl.data import LazyTensorStorage, TensorDictReplayBuffer  # noqa: E402

from rlkit.agents.ptgm_hrl import PTGMHighLevelAgent, high_level_transition  # noqa: E402
from rlkit.envs.hierarchical import GoalCodeWrapper, policy_low_level  # noqa: E402
from rlkit.modules.codebook import GoalCodebook  # noqa: E402
from rlkit.modules.goal_prior import GoalPrior  # noqa: E402
from rlkit.objectives.prior_kl_sac import PriorKLDiscreteSACLoss  # noqa: E402
from rlkit.trainers import Logger, progress_bar, seed_everything  # noqa: E402


class UniformPrior(nn.Module):
    """p(code | s) = 1/K for every state: the prior of ``--no-prior`` (KL to it = log K - entropy)."""

    def __init__(self, num_codes: int) -> None:
        super().__init__()
        self.num_codes = num_codes

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return observation.new_zeros(*observation.shape[:-1], self.num_codes)


def run_name(config: PTGMConfig) -> str:
    task = config.task if config.domain == "maze" else "kitchen"
    return f"hrl_{config.method}_{task}_s{config.seed}"


def make_high_level(config: PTGMConfig) -> tuple[GoalCodeWrapper, GoalCodeWrapper, PTGMHighLevelAgent]:
    """The code-level train and eval envs (frozen low level inside) and the prior-KL SAC agent."""
    prior, _ = load_net(artefact(config, PRIOR_FILE))
    low_level, low_info = load_net(artefact(config, LOWLEVEL_FILE))
    book = GoalCodebook.load(artefact(config, CODEBOOK_FILE), goal_dim=low_level.goal_dim)
    layout = str(low_info.get("layout", "maze2d")).removeprefix("kitchen-")
    envs = [GoalCodeWrapper(make_task_env(config, layout), policy_low_level(low_level), book.codes,
                            goal_dims=low_info["goal_dims"], steps_per_code=config.horizon) for _ in range(2)]
    num_codes, target_kl, policy = book.num_codes, config.target_kl, None
    if config.method == "no_prior":
        prior = UniformPrior(num_codes)
        policy = GoalPrior(low_level.obs_dim, num_codes, config.hidden, config.num_layers)
        target_kl = min(target_kl, 0.5 * math.log(num_codes))
    loss = PriorKLDiscreteSACLoss(prior, low_level.obs_dim, num_codes, policy=policy,
                                  hidden_sizes=config.critic_hidden, gamma=config.gamma, tau=config.tau,
                                  kl_direction=config.kl_direction, kl_clamp=config.kl_clamp, target_kl=target_kl,
                                  alpha_init=config.alpha_init)
    return envs[0], envs[1], PTGMHighLevelAgent(loss, lr=config.lr, grad_clip=config.grad_clip)


def train_codes(config: PTGMConfig, logger: Logger, summary: RunSummary) -> None:
    """The high-level loop, counting env steps (``info["inner_steps"]``) against ``config.env_steps``."""
    env, eval_env, agent = make_high_level(config)
    replay = TensorDictReplayBuffer(storage=LazyTensorStorage(config.replay_size), batch_size=config.batch_size)
    generator = torch.Generator().manual_seed(config.seed)
    eval_generator = torch.Generator().manual_seed(config.seed + 1)
    obs, _ = env.reset(seed=config.seed)
    env_steps, high_steps, episode, success, metrics = 0, 0, 0, False, {}
    next_eval = config.eval_every
    with progress_bar(config.env_steps, desc=config.method, enabled=None if config.progress else False) as bar:
        while env_steps < config.env_steps:
            code = int(agent.act(obs, generator=generator))
            next_obs, reward, terminated, truncated, info = env.step(code)
            replay.extend(high_level_transition(obs, code, float(reward), next_obs, terminated, truncated,
                                                info["inner_steps"]))
            env_steps += info["inner_steps"]
            high_steps += 1
            success, obs = success or info["success"], next_obs
            if terminated or truncated:
                summary.episode_done(success, env_steps)
                logger.log({"train/episode_success": float(success)}, step=env_steps)
                episode += 1
                obs, _ = env.reset(seed=config.seed + 7919 * episode)
                success = False
            if high_steps >= config.warmup and len(replay) >= config.batch_size:
                for _ in range(config.updates_per_step):
                    metrics = agent.update(replay.sample())
            if env_steps >= next_eval or env_steps >= config.env_steps:
                result = run_episodes(lambda o: int(agent.act(o, generator=eval_generator)), eval_env,
                                      config.eval_episodes, seed=10_000 + config.seed * 100,
                                      steps_of=lambda i: i["inner_steps"])
                summary.evaluated(env_steps, result)
                keep = {k: metrics[k] for k in ("loss_qvalue", "alpha", "kl", "entropy") if k in metrics}
                logger.log({f"eval/{k}": v for k, v in result.items()} | keep, step=env_steps)
                next_eval += config.eval_every
            bar.update(info["inner_steps"], metrics if high_steps % 50 == 0 else None)


def main(argv: list[str] | None = None, config: PTGMConfig | None = None) -> dict:
    config = config or parse_args(argv, __doc__)
    seed_everything(config.seed)
    run_dir = Path(config.run_dir) / run_name(config)
    summary = RunSummary(method=config.method, task=config.task, seed=config.seed, env_steps=config.env_steps)
    with Logger(run_dir, config=config, use_wandb=config.wandb, wandb_project=config.wandb_project) as logger:
        if config.method == "flat_sac":
            from flat_sac import train_flat_sac

            env, eval_env = make_task_env(config), make_task_env(config)
            train_flat_sac(config, env, eval_env, logger, summary)
        else:
            train_codes(config, logger, summary)
    result = summary.write(run_dir)
    print({k: v for k, v in result.items() if k != "evals"}, "evals:",
          [(e["env_steps"], e["success_rate"]) for e in result["evals"]])
    return result


if __name__ == "__main__":
    main()
