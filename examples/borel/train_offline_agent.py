"""BOReL's offline meta-RL agent: state relabelling with the frozen VAE, then SAC (continuous) or DQN (grid).

    python examples/borel/train_offline_agent.py --env-type gridworld --small [--hindsight-relabelling false]

Loads the per-task folders and the VAE checkpoint (both checked against ``--env-type`` before training), relabels
every stored meta-episode into hyper-states [s, belief mean, belief logvar] (with RR, of the relabelled data; with
``--agent-beliefs own`` the stored meta-episodes are encoded first and then mixed, the original's order), trains
``--num-iters`` x ``--rl-updates-per-iter`` updates of ``--meta-batch`` tasks x ``--batch-size`` transitions, and
evaluates deterministically on ``--num-eval-tasks`` held-out tasks: the return and success of each episode of the
meta-episode, the belief carried across them. Results: RUN_DIR/results_{rr,no_rr}.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from common import (  # noqa: E402
    args_dict,
    build_agent,
    check_trajectory_dims,
    evaluation_tasks,
    family_of,
    hyper_dim_of,
    load_dataset,
    load_vae,
    relabel_tag,
    run_dir,
    training_trajectories,
    vae_path,
)
from config import Args, parse_args  # noqa: E402

from rlkit.agents.belief_agent import BeliefAgent, MetaEpisodeResults, evaluate_meta_episodes  # noqa: E402
from rlkit.agents.hyper_state_rl import hyper_state_transitions, train_hyper_state_agent  # noqa: E402
from rlkit.data.own_belief_hyper_states import own_belief_hyper_states  # noqa: E402
from rlkit.envs.meta.registry import meta_env_spec  # noqa: E402
from rlkit.trainers.progress import progress_bar  # noqa: E402
from rlkit.trainers.seeding import seed_everything  # noqa: E402
from rlkit.utils.atomic import atomic_path, atomic_write_text  # noqa: E402


def evaluation_record(results: MetaEpisodeResults) -> dict[str, Any]:
    """Per-episode mean return and success over the held-out tasks, and the per-task values."""
    return {**results.summary(), "per_task_return": results.returns.tolist(),
            "per_task_success": results.successes.astype(int).tolist(), "tasks": results.tasks.tolist()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv, description=__doc__.splitlines()[0])
    return train(args)


def train(args: Args) -> dict[str, Any]:
    """Everything but the flag parsing (the benchmark calls this)."""
    seed_everything(args.seed)
    family, spec = family_of(args), meta_env_spec(args.env_type)
    dataset = load_dataset(args)
    encoder, reward_decoder, _, settings = load_vae(vae_path(args), args)  # checked before any training
    trajectories = training_trajectories(dataset, family, args.hindsight_relabelling, args.seed,
                                         args.relabel_fraction)
    check_trajectory_dims(trajectories, settings, str(vae_path(args)))
    states = None
    if args.hindsight_relabelling and args.agent_beliefs == "own":
        states = own_belief_hyper_states(encoder, dataset, trajectories,
                                         goal_hits_as_terminals=args.goal_hits_as_terminals)
    transitions = hyper_state_transitions(encoder, trajectories, goal_hits_as_terminals=args.goal_hits_as_terminals,
                                          states=states)
    agent = build_agent(args, family, hyper_dim_of(settings))
    eval_tasks = evaluation_tasks(args, family, dataset.tasks)
    belief_agent = BeliefAgent(encoder, agent, family.num_actions)

    def evaluate() -> MetaEpisodeResults:
        return evaluate_meta_episodes(belief_agent, family, eval_tasks, spec.episodes_per_task, seed=args.seed)

    curve: list[dict[str, Any]] = []
    bar = progress_bar(args.num_iters, desc=f"agent {args.env_type}", enabled=None if args.progress else False)

    def on_iteration(iteration: int, metrics: dict[str, float]) -> None:
        row: dict[str, Any] = {"iteration": iteration, **metrics}
        if args.eval_interval and (iteration + 1) % args.eval_interval == 0:
            row.update({f"eval_{k}": v for k, v in evaluate().summary().items()})
        curve.append(row)
        bar.update(1, {k: v for k, v in metrics.items() if k.startswith("loss")})

    generator = torch.Generator().manual_seed(args.seed)
    train_hyper_state_agent(agent, transitions, iterations=args.num_iters,
                            updates_per_iteration=args.rl_updates_per_iter, meta_batch=args.meta_batch,
                            batch_size=args.batch_size, generator=generator, on_iteration=on_iteration,
                            lr_schedule=args.agent_lr_schedule)
    bar.close()
    results = evaluate()
    out = run_dir(args)
    tag = relabel_tag(args)
    with atomic_path(out / f"agent_{tag}.pt") as temporary:
        torch.save({"agent": agent.state_dict(), "vae_settings": settings, "args": args_dict(args)}, temporary)
    record = {"env_type": args.env_type, "hindsight_relabelling": args.hindsight_relabelling,
              "evaluation": evaluation_record(results), "curve": curve, "args": args_dict(args)}
    atomic_write_text(out / f"results_{tag}.json", json.dumps(record, indent=1))
    summary = results.summary()
    print(f"{args.env_type} ({tag}) held-out tasks: success per episode {summary['success']}, "
          f"return per episode {[round(r, 2) for r in summary['return']]}")
    record["results"] = results
    return record


if __name__ == "__main__":
    main()
