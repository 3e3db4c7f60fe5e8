"""BOReL's online variant (off-policy VariBAD): SAC/DQN on hyper-states, the belief VAE trained alongside.

    python examples/borel/online_training.py --env-type gridworld --small

Collects ``--online-rollouts-per-iter`` meta-episodes per iteration in the training tasks, then takes
``--online-vae-updates-per-iter`` VAE steps and ``--online-rl-updates-per-iter`` agent steps (no RL gradients into
the VAE), for ``--online-iters`` iterations; evaluates on held-out tasks. Results: RUN_DIR/online_results.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    args_dict,
    build_agent,
    build_elbo,
    build_vae,
    evaluation_tasks,
    family_of,
    hyper_dim_of,
    run_dir,
    training_goals,
    vae_settings,
)
from config import Args, parse_args  # noqa: E402

from rlkit.envs.meta.registry import meta_env_spec  # noqa: E402
from rlkit.trainers.online_varibad import OnlineVariBAD  # noqa: E402
from rlkit.trainers.progress import progress_bar  # noqa: E402
from rlkit.trainers.seeding import seed_everything  # noqa: E402
from rlkit.utils.atomic import atomic_write_text  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv, description=__doc__.splitlines()[0])
    return train(args)


def train(args: Args) -> dict[str, Any]:
    seed_everything(args.seed)
    family, spec = family_of(args), meta_env_spec(args.env_type)
    train_tasks = training_goals(args, family)
    eval_tasks = evaluation_tasks(args, family, train_tasks)
    settings = vae_settings(args)
    elbo = build_elbo(args, build_vae(settings))
    agent = build_agent(args, family, hyper_dim_of(settings))
    trainer = OnlineVariBAD(family, train_tasks, spec.episodes_per_task, elbo, agent, vae_lr=args.vae_lr,
                            vae_tasks_batch=args.vae_tasks_batch, vae_trajs_per_task=args.vae_trajs_per_task,
                            meta_batch=args.meta_batch, batch_size=args.batch_size, epsilon=args.online_epsilon,
                            seed=args.seed)
    curve: list[dict[str, Any]] = []
    with progress_bar(args.online_iters, desc=f"online {args.env_type}",
                      enabled=None if args.progress else False) as bar:
        def on_iteration(iteration: int, row: dict[str, Any]) -> None:
            curve.append({"iteration": iteration, **row})
            bar.update(1, {"success": row["collect_success"][-1]})

        trainer.train(args.online_iters, rollouts_per_iteration=args.online_rollouts_per_iter,
                      vae_updates=args.online_vae_updates_per_iter, rl_updates=args.online_rl_updates_per_iter,
                      init_rollouts=args.online_init_rollouts, on_iteration=on_iteration)
    results = trainer.evaluate(eval_tasks, seed=args.seed)
    record = {"env_type": args.env_type, "evaluation": {**results.summary(), "tasks": results.tasks.tolist()},
              "curve": curve, "args": args_dict(args)}
    atomic_write_text(run_dir(args) / "online_results.json", json.dumps(record, indent=1))
    print(f"{args.env_type} online, held-out tasks: success per episode {results.summary()['success']}")
    return record


if __name__ == "__main__":
    main()
