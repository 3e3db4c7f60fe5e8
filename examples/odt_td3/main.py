"""ODT+TD3: a decision transformer pretrained offline, then finetuned online with TD3 gradients.

Reproduces "Reinforcement Learning Gradients as Vitamin for Online Finetuning Decision Transformers" (Yan et al.,
NeurIPS 2024) with rlkit's blocks, and accepts the original's flags (see config.py and README.md):

    python examples/odt_td3/main.py --env maze2d-umaze-v1 --quick          # a few minutes on a CPU
    python examples/odt_td3/main.py --env hopper-medium-v2 --actor_rl_coeff 0 --stoc 1 --use_entropy_reg 1   # ODT
    python examples/odt_td3/main.py --env hopper-medium-v2 --actor_sup_coeff 0                            # TD3

The loop: load the dataset -> trajectory replay of its best trajectories (states normalised by the dataset's
mean/std, hindsight returns-to-go) -> pretrain for max_pretrain_iters x num_updates_per_pretrain_iter actor updates
(the critic learns too; the RL term only with --RL_from_start 1) -> online iterations: collect whole episodes at
online_rtg with exploration until minimum_sapairs_per_iter steps, add them to the replay, and train for
num_updates_per_online_iter actor updates -> evaluate at eval_rtg every --eval-every iterations, log, checkpoint.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config import Config, parse_args  # noqa: E402
from rollouts import (  # noqa: E402
    OnlineCollector,
    check_dimensions,
    episode_stats,
    evaluate_policy,
    make_env_fn,
    raw_returns,
    reward_transform_of,
    score_metrics,
    shape_dataset_rewards,
)

from rlkit.data.names import load_dataset  # noqa: E402
from rlkit.data.trajectory_replay import TrajectoryReplay  # noqa: E402
from rlkit.modules.critics import TwinQCritic  # noqa: E402
from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy  # noqa: E402
from rlkit.modules.transformer import DecisionTransformer  # noqa: E402
from rlkit.objectives.dt_supervised import DTSupervisedLoss  # noqa: E402
from rlkit.objectives.odt_entropy import ODTEntropyLoss  # noqa: E402
from rlkit.objectives.odt_td3 import DelayedUpdates, ODTTD3Loss  # noqa: E402
from rlkit.objectives.optim import clip_dt_grad_, make_critic_optimizer, make_dt_optimizer, make_temperature_optimizer  # noqa: E402,E501
from rlkit.trainers import Checkpointer, Logger, check_finite, plot_learning_curves, progress_bar, seed_everything  # noqa: E402,E501
from rlkit.trainers.logger import read_metrics  # noqa: E402


def derived_seed(*parts: int) -> int:
    """An independent 32-bit seed per (run seed, purpose, iteration)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class Trainer:
    """The update step of ODT / ODT+TD3 / TD3 and its optimisers; ``train(n)`` runs n actor updates."""

    def __init__(self, config: Config, loss: ODTTD3Loss, replay: TrajectoryReplay, device: torch.device) -> None:
        self.config, self.loss, self.replay = config, loss, replay
        self.dt_optim, self.scheduler = make_dt_optimizer(loss.policy.parameters(), lr=config.learning_rate,
                                                          weight_decay=config.weight_decay,
                                                          warmup_steps=config.warmup_steps)
        self.critic_optim = make_critic_optimizer(loss.critic.parameters(), lr=config.critic_learning_rate)
        entropy = isinstance(loss.supervised_loss, ODTEntropyLoss)
        self.temp_optim = make_temperature_optimizer(loss.supervised_loss.log_temperature) if entropy else None
        self.delay = DelayedUpdates(config.num_actor_update_interval)
        self.train_critic = config.actor_rl_coeff > 0  # ODT never reads its critic: skip that work
        self.autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")
        self.sample_rng = torch.Generator(device=device).manual_seed(derived_seed(config.seed, 1))
        self.updates = 0  # critic steps so far (the delay counts these)

    def state(self) -> dict[str, Any]:
        state = dict(loss=self.loss, dt_optim=self.dt_optim, scheduler=self.scheduler, critic_optim=self.critic_optim,
                     sample_rng=self.sample_rng)
        return state | ({"temp_optim": self.temp_optim} if self.temp_optim is not None else {})

    def _step(self, sums: dict[str, torch.Tensor], counts: dict[str, int]) -> dict[str, torch.Tensor]:
        batch = self.replay.sample(self.config.batch_size, generator=self.sample_rng)
        terms: dict[str, torch.Tensor] = {}
        if self.train_critic:
            with torch.autocast(**self.autocast):
                critic = self.loss.critic_loss(batch)
            self.critic_optim.zero_grad(set_to_none=True)
            critic["loss_critic"].backward()
            self.critic_optim.step()
            terms |= dict(critic.items())
            counts["critic"] += 1
        if self.delay.due(self.updates):
            with torch.autocast(**self.autocast):
                actor = self.loss.actor_loss(batch)
            total = actor["loss_actor"] + actor.get("loss_temperature", 0.0)
            self.dt_optim.zero_grad(set_to_none=True)
            if self.temp_optim is not None:
                self.temp_optim.zero_grad(set_to_none=True)
            total.backward()
            clip_dt_grad_(self.loss.policy)
            self.dt_optim.step()
            if self.temp_optim is not None:
                self.temp_optim.step()
            self.scheduler.step()
            self.loss.update_targets()
            terms |= dict(actor.items())
            counts["actor"] += 1
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.detach().float()  # bf16 terms summed in fp32
        self.updates += 1
        return terms

    def train(self, actor_updates: int, *, rl_coeff: float, sup_coeff: float, desc: str) -> dict[str, Any]:
        """``actor_updates`` actor steps (and interval x as many critic steps); the mean of every loss term."""
        self.loss.actor_rl_coeff, self.loss.actor_sup_coeff = rl_coeff, sup_coeff
        self.loss.train()
        sums: dict[str, torch.Tensor] = {}
        counts = {"critic": 0, "actor": 0}
        steps = actor_updates * self.config.num_actor_update_interval
        with progress_bar(steps, desc=desc, enabled=_progress(self.config)) as bar:
            for i in range(steps):
                terms = self._step(sums, counts)
                if i % 100 == 0:
                    check_finite(terms, self.updates)  # one host sync per 100 steps
                    shown = {k: float(v.detach()) for k, v in terms.items() if k.startswith("loss")}
                    bar.update(min(100, steps - i), shown)
        critic_keys = {"loss_critic", "q1_mean", "q2_mean", "target_mean"}
        means = {f"train/{k}": v / max(counts["critic"] if k in critic_keys else counts["actor"], 1)
                 for k, v in sums.items()}
        check_finite(means, self.updates)
        return means | {"updates": self.updates}


def _progress(config: Config) -> bool | None:
    return None if config.progress is None else bool(config.progress)


def build_loss(config: Config, state_dim: int, act_dim: int, low: float, high: float) -> ODTTD3Loss:
    transformer = DecisionTransformer(state_dim, act_dim, embed_dim=config.embed_dim, n_layer=config.n_layer,
                                      n_head=config.n_head, n_inner=4 * config.embed_dim, dropout=config.dropout,
                                      activation=config.activation_function)
    policy_class = StochasticDTPolicy if config.stoc else DeterministicDTPolicy
    policy = policy_class(transformer, act_dim)
    supervised = (ODTEntropyLoss(policy, init_temperature=config.init_temperature) if config.use_entropy_reg
                  else DTSupervisedLoss(policy))
    critic = TwinQCritic(state_dim, act_dim, layer_norm=config.critic_layer_norm)
    return ODTTD3Loss(policy, critic, gamma=config.gamma, tau=config.TD3_tau, policy_noise=config.TD3_policy_noise,
                      noise_clip=config.TD3_noise_clip, actor_rl_coeff=config.actor_rl_coeff,
                      actor_sup_coeff=config.actor_sup_coeff, action_low=low, action_high=high,
                      supervised_loss=supervised)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    config = parse_args(argv)
    run_dir = Path(config.run_dir or f"runs/odt_td3/{config.env}-s{config.seed}")
    if not config.resume and (run_dir / "metrics.csv").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it or choose another "
                              "--run-dir")
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto"
                          else config.device)
    seed_everything(config.seed)
    started = time.perf_counter()

    # ---- data and env: check they agree before anything trains -----------------------------------------------
    source = config.dataset_path or config.env
    data = shape_dataset_rewards(load_dataset(source), config)
    env_fn = make_env_fn(config)
    probe = env_fn()
    state_dim, act_dim, low, high = check_dimensions(data, probe, f"dataset {source!r}")
    probe.close()
    replay = TrajectoryReplay.from_offline(data, config.replay_size, context_length=config.K,
                                           reward_scale=config.reward_scale, device=device)
    offline_returns = raw_returns(*replay_stats(replay), reward_transform_of(config))
    del data
    loss = build_loss(config, state_dim, act_dim, float(low.min()), float(high.max())).to(device)
    if config.compile:
        loss.policy.transformer.compile()
    trainer = Trainer(config, loss, replay, device)
    noise_rng = torch.Generator(device=device).manual_seed(derived_seed(config.seed, 2))
    agent_kwargs = dict(reward_scale=config.reward_scale, state_mean=replay.state_mean, state_std=replay.state_std,
                        action_low=low, action_high=high)
    print(f"{config.env}: {replay.num_trajectories} offline trajectories kept ({replay.num_steps} steps), "
          f"return mean {offline_returns.mean():.2f} max {offline_returns.max():.2f}; "
          f"{'ODT' if config.actor_rl_coeff == 0 else 'TD3' if config.actor_sup_coeff == 0 else 'ODT+TD3'} on {device}")

    # ---- resume -----------------------------------------------------------------------------------------------
    checkpoints = Checkpointer(run_dir / "checkpoints", keep_last=2)
    objects = trainer.state() | dict(replay=replay, noise_rng=noise_rng)
    progress = dict(iteration=0, pretrain_iters=0, online_iters=0, env_steps=0, last_eval={})
    if config.resume and checkpoints.latest() is not None:
        progress = checkpoints.load("latest", **objects)["progress"]
        trainer.updates = int(progress["updates"])
        print(f"resumed from {checkpoints.latest()} at iteration {progress['iteration']}")
    logger = Logger(run_dir, config=config, resume=config.resume, resume_step=progress["iteration"],
                    use_wandb=config.wandb, wandb_project=config.wandb_project)

    def finish_iteration(metrics: dict[str, Any], evaluate_now: bool) -> None:
        progress["iteration"] += 1
        if evaluate_now:
            tick = time.perf_counter()
            loss.eval()
            progress["last_eval"] = evaluate_policy(loss.policy, config, env_fn, agent_kwargs,
                                                    seed=derived_seed(config.seed, 3))
            metrics |= progress["last_eval"] | {"time/eval_s": time.perf_counter() - tick}
        metrics |= {"env_steps": progress["env_steps"], "replay/trajectories": replay.num_trajectories,
                    "time/total_s": time.perf_counter() - started}
        logger.log(metrics, step=progress["iteration"])
        if evaluate_now:
            progress["updates"] = trainer.updates
            checkpoints.save(progress["iteration"], progress=progress, **objects)
            score = progress["last_eval"].get("eval/normalized_score", progress["last_eval"]["eval/return_mean"])
            print(f"iteration {progress['iteration']}: env steps {progress['env_steps']}, eval {score:.2f}")

    collector = OnlineCollector(loss.policy, config, env_fn, agent_kwargs, noise_rng)
    try:
        # ---- offline pretraining: the RL term only with --RL_from_start ------------------------------------------
        rl_from_start = config.RL_from_start == 1
        while progress["pretrain_iters"] < config.max_pretrain_iters:
            tick = time.perf_counter()
            metrics = trainer.train(config.num_updates_per_pretrain_iter,
                                    rl_coeff=config.actor_rl_coeff if rl_from_start else 0.0,
                                    sup_coeff=config.actor_sup_coeff if rl_from_start else 1.0,
                                    desc=f"pretrain {progress['pretrain_iters'] + 1}/{config.max_pretrain_iters}")
            progress["pretrain_iters"] += 1
            finish_iteration(metrics | {"phase": 0, "time/train_s": time.perf_counter() - tick}, evaluate_now=True)

        # ---- online finetuning --------------------------------------------------------------------------------
        while progress["online_iters"] < config.max_online_iters and progress["env_steps"] < config.max_env_steps:
            tick = time.perf_counter()
            episodes = collector.collect(config.minimum_sapairs_per_iter,
                                         seed=derived_seed(config.seed, 4, progress["online_iters"]))
            replay.add_trajectories(episodes, time_limit_as_terminal=True)  # the original's terminals[-1] = 1
            returns, lengths = episode_stats(episodes)
            progress["env_steps"] += int(lengths.sum())
            collect_s, tick = time.perf_counter() - tick, time.perf_counter()
            metrics = trainer.train(config.num_updates_per_online_iter, rl_coeff=config.actor_rl_coeff,
                                    sup_coeff=config.actor_sup_coeff,
                                    desc=f"online {progress['online_iters'] + 1}/{config.max_online_iters}")
            progress["online_iters"] += 1
            online = score_metrics("online", raw_returns(returns, lengths, reward_transform_of(config)), lengths,
                                   config.env)
            last = (progress["online_iters"] == config.max_online_iters
                    or progress["env_steps"] >= config.max_env_steps)
            timing = {"time/collect_s": collect_s, "time/train_s": time.perf_counter() - tick}
            finish_iteration(metrics | online | timing | {"phase": 1, "online/episodes": len(lengths)},
                             evaluate_now=last or progress["online_iters"] % config.eval_interval == 0)
    finally:
        collector.close()
        logger.close()

    # ---- learning curves and the final score --------------------------------------------------------------------
    columns = read_metrics(run_dir / "metrics.csv")
    keys = [k for k in ("eval/normalized_score", "eval/return_mean", "online/return_mean", "train/loss_actor",
                        "train/loss_sup", "train/loss_critic", "train/q1_mean") if k in columns]
    plot = plot_learning_curves(columns, keys, run_dir / "learning_curves.png",
                                title=f"{config.env} (x: iteration)") if keys else None
    final = progress["last_eval"]
    if final:
        score = final.get("eval/normalized_score")
        print(f"final evaluation: return {final['eval/return_mean']:.2f}"
              + (f", normalised score {score:.1f}" if score is not None else ""))
    print(f"metrics: {run_dir / 'metrics.csv'}; learning curves: {plot}; "
          f"wall time {time.perf_counter() - started:.0f} s")
    return {"run_dir": run_dir, "final": final, "progress": progress, "metrics": columns}


def replay_stats(replay: TrajectoryReplay) -> tuple[np.ndarray, np.ndarray]:
    return replay.trajectory_returns.cpu().numpy(), replay.trajectory_lengths.cpu().numpy()


if __name__ == "__main__":
    main()
