"""BOReL's belief VAE trained offline on per-task folders, with or without reward relabelling (RR).

    python examples/borel/train_vae_offline.py --env-type gridworld --small [--hindsight-relabelling false]

Each update draws ``--vae-tasks-batch`` distinct tasks x ``--vae-trajs-per-task`` whole meta-episodes and minimises
the ELBO over all their prefixes (``rlkit.objectives.elbo.BeliefELBOLoss``). With RR (default) the data are first
relabelled (``rlkit.data.meta_relabel.reward_relabel``). The checkpoint (weights + the settings that fix the
architecture and env type) goes to ``--vae-path`` (default RUN_DIR/vae_rr.pt or vae_no_rr.pt).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from common import (  # noqa: E402
    args_dict,
    build_elbo,
    build_vae,
    family_of,
    load_dataset,
    run_dir,
    save_vae,
    training_trajectories,
    vae_path,
    vae_settings,
)
from config import Args, parse_args  # noqa: E402
from tensordict import TensorDict  # noqa: E402

from rlkit.agents.hyper_state_rl import TaskTransitions  # noqa: E402
from rlkit.objectives.elbo import BeliefELBOLoss  # noqa: E402
from rlkit.trainers.online_varibad import elbo_step  # noqa: E402
from rlkit.trainers.progress import progress_bar  # noqa: E402
from rlkit.trainers.seeding import seed_everything  # noqa: E402
from rlkit.utils.atomic import atomic_write_text  # noqa: E402


def train_vae(args: Args, trajectories: list[TensorDict], settings: dict[str, Any]) -> tuple[BeliefELBOLoss, list]:
    """The VAE of ``settings`` trained for ``args.vae_epochs`` passes over the tasks; its per-epoch mean losses."""
    elbo = build_elbo(args, build_vae(settings))
    optimizer = torch.optim.Adam(elbo.parameters(), lr=args.vae_lr)
    pool = TaskTransitions.from_tasks(trajectories)  # any per-task TensorDicts: here trajectories
    generator = torch.Generator().manual_seed(args.seed)
    updates_per_epoch = math.ceil(pool.num_tasks / args.vae_tasks_batch)
    history = []
    with progress_bar(args.vae_epochs, desc=f"VAE {args.env_type}", enabled=None if args.progress else False) as bar:
        for epoch in range(args.vae_epochs):
            sums: dict[str, float] = {}
            for update in range(updates_per_epoch):
                batch = pool.sample(args.vae_tasks_batch, args.vae_trajs_per_task, generator)
                for key, value in elbo_step(elbo, optimizer, batch, epoch * updates_per_epoch + update).items():
                    sums[key] = sums.get(key, 0.0) + value / updates_per_epoch
            history.append({"epoch": epoch, **sums})
            bar.update(1, {k: v for k, v in sums.items() if k.startswith("loss_")})
    return elbo, history


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv, description=__doc__.splitlines()[0])
    seed_everything(args.seed)
    family = family_of(args)
    dataset = load_dataset(args)
    trajectories = training_trajectories(dataset, family, args.hindsight_relabelling, args.seed,
                                         args.relabel_fraction)
    settings = vae_settings(args)
    elbo, history = train_vae(args, trajectories, settings)
    path = vae_path(args)
    save_vae(path, settings, elbo, {"args": args_dict(args), "history": history})
    summary = {"vae_path": str(path), "final": history[-1], "args": args_dict(args)}
    atomic_write_text(path.with_suffix(".json"), json.dumps({**summary, "history": history}, indent=1))
    print(f"VAE saved to {path}; final losses {history[-1]}")
    run_dir(args).mkdir(parents=True, exist_ok=True)
    return summary


if __name__ == "__main__":
    main()
