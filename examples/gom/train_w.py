"""Transfer a trained GOM to a new reward by refitting only w, then evaluate the planner (the original's train_w.py).

    python examples/gom/train_w.py env_id=antmaze-umaze-v2 exp_id=benchmark seed=0 goal=0,8
    python examples/gom/train_w.py --config-name small exp_id=quick goal=-0.5,0.5 planning.planner=random_shooting

The outcome model psi and the readout policy stay as ``train.py`` saved them (``<run_dir>/gom.pt`` or
``gom_path=``); only the reward weights change: rewards are relabelled for ``goal`` (exp(-||goal - xy(s')|| / scale))
and w is fitted to r ~ phi(s')^T w, by default in closed form on ``w_fit_samples`` random transitions (as the
camera-ready DiSPOs code), or with ``w_fit=adam`` by the original's Adam on MSE for ``training.num_steps`` steps.
The refitted GOM is saved to ``<run_dir>/w_<goal>.pt`` and evaluated with ``planning.planner``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import Config, parse_overrides  # noqa: E402
from train import KITCHEN_OBS_DIMS, goal_scale, load_dataset_td, resolve_device, run_evaluation, task_goal  # noqa: E402

from rlkit.agents.gom import GOM  # noqa: E402
from rlkit.data import keys as K  # noqa: E402
from rlkit.data.layout import transitions_only  # noqa: E402
from rlkit.envs.goal_reward import goal_reward  # noqa: E402
from rlkit.trainers.progress import progress_bar  # noqa: E402


def reward_pairs(config: Config, gom: GOM, goal: np.ndarray | None, rows: int | None,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``rows`` random (phi(s'), r) pairs of the dataset (all when None), r relabelled for ``goal`` (mazes)."""
    td = transitions_only(load_dataset_td(config))
    n = td.batch_size[0]
    index = torch.randperm(n, generator=generator)[:rows] if rows and rows < n else torch.arange(n)
    next_obs = td.get(K.NEXT_OBS)[index]
    if config.suite == "kitchen":
        next_obs = next_obs[:, :KITCHEN_OBS_DIMS]
        if config.kitchen_next_is_current:
            next_obs = td.get(K.OBS)[index][:, :KITCHEN_OBS_DIMS]
    if next_obs.shape[1] != gom.obs_dim:
        raise ValueError(f"dataset {config.env_id} has {next_obs.shape[1]}-d observations; the GOM was trained on "
                         f"{gom.obs_dim}-d ones")
    device = gom.w.device
    phi = torch.cat([gom.features(chunk.to(device, torch.float32)) for chunk in next_obs.split(65536)])
    if goal is None:
        reward = td.get(K.REWARD)[index].to(device, torch.float32).reshape(-1)
    else:
        reward = goal_reward(next_obs[:, :2].double(), goal, goal_scale(config)).to(device, torch.float32)
    return phi, reward


def fit_w_closed_form(phi: torch.Tensor, reward: torch.Tensor, ridge: float) -> torch.Tensor:
    from rlkit.objectives.reward_weights import fit_reward_weights

    return fit_reward_weights(phi, reward, ridge=ridge)


def fit_w_adam(phi: torch.Tensor, reward: torch.Tensor, config: Config, generator: torch.Generator,
               init: torch.Tensor) -> torch.Tensor:
    """The original's w training: Adam(lr) on mean (phi^T w - r)^2 over shuffled batches, training.num_steps steps."""
    w = torch.nn.Parameter(init.detach().clone())
    optim = torch.optim.Adam([w], lr=config.model.lr)
    n, batch = phi.shape[0], min(config.training.batch_size, phi.shape[0])
    weight = reward + reward.mean() if config.training.weighted_regression else None
    with progress_bar(config.training.num_steps, desc="w", enabled=config.progress) as bar:
        for _ in range(config.training.num_steps):
            index = torch.randint(n, (batch,), generator=generator).to(phi.device)
            error = (phi[index] @ w - reward[index]).square()
            loss = (error * weight[index]).mean() if weight is not None else error.mean()
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            bar.update(1)
    return w.detach()


def refit_w(config: Config, gom: GOM, goal: np.ndarray | None, seed: int = 0) -> dict[str, float]:
    """Fit ``gom.w`` in place to the (relabelled) rewards; return the fit's R^2 and mean squared error."""
    generator = torch.Generator().manual_seed(seed)
    rows = config.w_fit_samples if config.w_fit == "lstsq" else None
    phi, reward = reward_pairs(config, gom, goal, rows or None, generator)
    if config.w_fit == "lstsq":
        w = fit_w_closed_form(phi, reward, config.w_ridge)
    else:
        w = fit_w_adam(phi, reward, config, generator, gom.w)
    with torch.no_grad():
        gom.w.copy_(w.to(gom.w))
        mse = float((phi @ gom.w - reward).square().mean())
    variance = float(reward.var(unbiased=False))
    return {"w/mse": mse, "w/r2": 1.0 - mse / variance if variance > 0 else float("nan")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    config = parse_overrides(sys.argv[1:] if argv is None else argv, default_config="atrl_train_w")
    from rlkit.trainers.seeding import seed_everything

    seed_everything(config.seed)
    device = resolve_device(config.device)
    gom_path = Path(config.gom_path) if config.gom_path else config.run_dir / "gom.pt"
    gom = GOM.load(gom_path, map_location=device)
    goal = task_goal(config)
    fit = refit_w(config, gom, goal, seed=config.seed)
    label = "default" if goal is None else "_".join(f"{v:g}" for v in goal)
    out = config.run_dir / f"w_{label}.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    gom.save(out)
    result = {**fit, **run_evaluation(config, gom, device, goal)}
    print(f"[gom train_w] goal {label}: {result}; saved {out}", flush=True)
    return {"gom_path": out, "goal": goal, **result}


if __name__ == "__main__":
    main()
