"""Train a GOM (outcome model psi, readout policy, reward weights w) on an offline dataset, as the original train.py.

    python examples/gom/train.py env_id=antmaze-umaze-v2 exp_id=benchmark seed=0
    python examples/gom/train.py --config-name atrl_kitchen.yaml env_id=kitchen-partial-v0 exp_id=benchmark seed=0
    python examples/gom/train.py --config-name small exp_id=quick          # maze2d-umaze-v1, minutes on a CPU

The loop: load the dataset (built locally: ``python -m rlkit.data build NAME``), relabel a goal reward for mazes,
precompute cumulants phi(s), phi(s'), then GOMTrainer steps on batches drawn from resident tensors; every
``training.eval_every`` steps the planner acts in the evaluation env, every ``training.save_every`` steps a
checkpoint is written (``training.resume=true`` continues bit-identically), and at the end the GOM is saved to
``<run_dir>/gom.pt`` for ``train_w.py``. Settings: ``config.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make ``config`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import Config, parse_overrides  # noqa: E402

from rlkit.agents.gom import GOM  # noqa: E402
from rlkit.agents.gom_planners import GOMActor, GuidedDiffusionPlanner, RandomShootingPlanner  # noqa: E402
from rlkit.data.feature_transitions import (  # noqa: E402
    FeatureBatchSampler,
    FeatureTransitions,
    build_feature_transitions,
)
from rlkit.envs.goal_reward import ANTMAZE_SCALE, GoalReward, goal_reward  # noqa: E402
from rlkit.modules.cumulants import RandomFourierCumulants  # noqa: E402

KITCHEN_OBS_DIMS = 30  # the original drops the 30-d goal part of D4RL's kitchen observation


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def goal_scale(config: Config) -> float:
    return ANTMAZE_SCALE if config.goal_scale is None else config.goal_scale


def make_eval_env(config: Config, goal: np.ndarray | None = None) -> Any:
    """The evaluation env with the goal reward (mazes); None for kitchen, which has no D4RL-layout env here."""
    if config.suite == "kitchen":
        return None
    from rlkit.envs.registry import make_env

    env = make_env(config.env_id)
    target = np.asarray(env.goal if goal is None else goal, dtype=np.float64)
    return GoalReward(env, target, scale=goal_scale(config), success_radius=config.success_radius)


def task_goal(config: Config) -> np.ndarray | None:
    """The goal of the run: ``config.goal`` or the evaluation env's own goal (mazes); None for kitchen."""
    if config.suite == "kitchen":
        return None
    if config.goal is not None:
        return np.asarray(config.goal, dtype=np.float64)
    env = make_eval_env(config)
    try:
        return env.goal.copy()
    finally:
        env.close()


def load_dataset_td(config: Config) -> Any:
    from rlkit.data.names import load_dataset

    td = load_dataset(config.dataset_path or config.env_id)
    if config.max_transitions is not None:
        if config.max_transitions < 2:
            raise ValueError(f"max_transitions={config.max_transitions}; expected at least 2 rows")
        td = td[: config.max_transitions]
    return td


def make_cumulants(config: Config, obs_dim: int) -> RandomFourierCumulants:
    return RandomFourierCumulants(obs_dim, config.feat.dim // 2, config.feat.hidden_dim, config.feat.groups, seed=0)


def build_table(config: Config, device: torch.device, goal: np.ndarray | None) -> FeatureTransitions:
    """Dataset -> GOM training table (cumulants precomputed, goal reward relabelled for mazes)."""
    td = load_dataset_td(config)
    obs_dims = KITCHEN_OBS_DIMS if config.suite == "kitchen" else None
    obs_dim = obs_dims or td["observation"].shape[1]
    cumulants = make_cumulants(config, obs_dim).to(device)
    reward_fn = None
    if goal is not None:
        scale = goal_scale(config)

        def reward_fn(next_obs: torch.Tensor) -> torch.Tensor:
            return goal_reward(next_obs[:, :2].double(), goal, scale).float()

    return build_feature_transitions(
        td, cumulants, reward_fn=reward_fn, observation_dims=obs_dims,
        next_is_current=config.kitchen_next_is_current and config.suite == "kitchen",
        device=device, progress=config.progress, source=config.dataset_path or config.env_id,
    )


def build_gom(config: Config, table: FeatureTransitions, device: torch.device) -> GOM:
    gom = GOM(table.obs_dim, table.act_dim, table.feature_min, table.feature_max, gamma=config.gamma,
              num_frequencies=config.feat.dim // 2, cumulant_hidden_dim=config.feat.hidden_dim,
              cumulant_groups=config.feat.groups, cumulant_seed=0, embed_dim=config.model.embed_dim,
              down_dims=config.model.down_dims).to(device)
    check = table.data["observation"][:8]
    if not torch.allclose(gom.features(check), table.data["phi"][:8]):
        raise RuntimeError("the GOM's cumulants differ from the ones the table was built with")
    return gom


def make_actor(config: Config, gom: GOM, device: torch.device) -> GOMActor:
    """The planner of ``config.planning`` over the GOM's EMA networks, as a numpy policy for gymnasium envs."""
    steps = config.sampling.n_inference_steps

    def psi_sampler(obs: torch.Tensor, num_samples: int, guidance: torch.Tensor | None) -> torch.Tensor:
        return gom.sample_psi(obs, num_samples, guidance=guidance, ema=True, steps=steps)

    def action_sampler(obs: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        return gom.sample_action(obs, psi, ema=True, steps=steps)

    w = gom.w.detach()
    if config.planning.planner == "random_shooting":
        planner = RandomShootingPlanner(psi_sampler, w, config.planning.num_samples, config.planning.num_elites)
    else:
        planner = GuidedDiffusionPlanner(psi_sampler, w, gom.psi.low, gom.psi.high, config.planning.guidance_coef)
    return GOMActor(planner, action_sampler, device=device, obs_dim=gom.obs_dim)


def run_evaluation(config: Config, gom: GOM, device: torch.device, goal: np.ndarray | None,
                   wrap_env: Callable[[Any], Any] | None = None) -> dict[str, float]:
    """Success rate and return of the planner over ``eval.num_episodes`` episodes ({} for kitchen).

    wrap_env: applied to each evaluation env copy, in sub-env order (e.g. a ``PathRecorder`` for plots).
    """
    if goal is None:
        return {}
    from rlkit.trainers.evaluation import evaluate

    actor = make_actor(config, gom, device)
    wrap = wrap_env or (lambda env: env)
    result = evaluate(actor, lambda: wrap(make_eval_env(config, goal)), config.eval.num_episodes,
                      num_envs=min(config.eval.num_envs, config.eval.num_episodes), seed=config.seed,
                      max_steps=config.eval.max_steps)
    return {"eval/return": result["return_mean"], "eval/success": result.get("success_rate", float("nan")),
            "eval/length": result["length_mean"]}


def make_trainer(config: Config, gom: GOM) -> Any:
    from rlkit.trainers.gom_trainer import GOMTrainer

    return GOMTrainer(
        gom, lr=config.model.lr, warmup_steps=config.model.warmup_steps, total_steps=config.training.num_steps,
        weight_decay=config.model.wd, grad_rule=config.model.grad_rule, ema_rate=config.model.ema_rate,
        gamma=config.gamma, done_mask=config.done_mask, w_rule="joint", compile=config.model.compile,
        sampling_steps=config.sampling.n_inference_steps, w_lr=config.model.lr,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    config = parse_overrides(sys.argv[1:] if argv is None else argv)
    if config.training.weighted_regression:
        raise ValueError("training.weighted_regression=true: the joint w step is unweighted here; refit a weighted "
                         "w afterwards with train_w.py w_fit=adam training.weighted_regression=true")
    from rlkit.trainers.checkpoint import Checkpointer
    from rlkit.trainers.guards import check_finite
    from rlkit.trainers.logger import Logger
    from rlkit.trainers.progress import progress_bar
    from rlkit.trainers.seeding import seed_everything

    seed_everything(config.seed)
    device = resolve_device(config.device)
    run_dir = config.run_dir
    goal = task_goal(config)
    table = build_table(config, device, goal)
    print(f"[gom] {config.env_id}: {len(table)} transitions, obs {table.obs_dim}, act {table.act_dim}, "
          f"phi {table.feature_dim}; run dir {run_dir}", flush=True)
    gom = build_gom(config, table, device)
    trainer = make_trainer(config, gom)
    sampler = FeatureBatchSampler(table.data, config.training.batch_size, seed=config.seed)
    checkpoints = Checkpointer(run_dir / "checkpoints", keep_last=2)

    start = 0
    if config.training.resume and checkpoints.latest() is not None:
        start = checkpoints.load("latest", gom=gom, trainer=trainer, sampler=sampler)["step"] + 1
        print(f"[gom] resumed at step {start} from {checkpoints.latest()}", flush=True)
    logger = Logger(run_dir, config=config, resume=config.training.resume, resume_step=start - 1 if start else None,
                    use_wandb=config.wandb, wandb_project="rlkit-gom")
    last: dict[str, Any] = {}
    began = time.perf_counter()
    with logger, progress_bar(config.training.num_steps, desc="gom", enabled=config.progress, initial=start) as bar:
        for step in range(start, config.training.num_steps):
            metrics = trainer.step(sampler.sample())
            done = step + 1
            row: dict[str, Any] = {}
            if done % config.training.log_every == 0 or done == config.training.num_steps:
                check_finite(metrics, step)
                row.update({f"train/{k}": v for k, v in metrics.items()})
            if done % config.training.eval_every == 0:
                row.update(run_evaluation(config, gom, device, goal))
            if row:
                row["time/elapsed_s"] = time.perf_counter() - began
                last = logger.log(row, step=step)
                bar.update(0, {k.split("/")[-1]: v for k, v in last.items() if "loss" in k or "success" in k})
            if done % config.training.save_every == 0:
                checkpoints.save(step, gom=gom, trainer=trainer, sampler=sampler)
            bar.update(1)
    gom.save(run_dir / "gom.pt")
    print(f"[gom] saved {run_dir / 'gom.pt'}; last metrics: {last}", flush=True)
    return {"run_dir": run_dir, "gom_path": run_dir / "gom.pt", "metrics": last, "goal": goal}


if __name__ == "__main__":
    main()
