"""GOM transfer across goals on locally built maze2d-umaze-v1: train psi and the policy once, refit only w per goal.

The claim of GOM is that a new reward needs only a new linear fit of w; the outcome model and readout policy are
reused unchanged. This script trains one GOM with ``examples/gom``'s ``small`` config, then for each goal relabels
the rewards exp(-||goal - xy(s')|| / scale), fits w in closed form, and measures the success rate (within
``success_radius`` of the goal at any step of a 300-step episode, random free-cell starts) of the random-shooting
and guided-diffusion planners over ``--episodes`` episodes. Outputs in ``benchmarks/results/``:
``gom_maze_goals.json`` (every number, the command, the machine), ``gom_maze_goals.md`` (the table),
``gom_maze_goals.png`` (success per goal and planner) and ``gom_maze_goals_paths.png`` (where the first ``--paths``
scored episodes of each goal and planner went, green if they reached the goal).

    OMP_NUM_THREADS=1 python benchmarks/gom_maze_goals.py                      # ~15-20 min training + ~7 min eval
    OMP_NUM_THREADS=1 python benchmarks/gom_maze_goals.py --skip-train         # re-evaluate the saved GOM
    OMP_NUM_THREADS=1 python benchmarks/gom_maze_goals.py --skip-train --planners guided_diffusion --guidance-coef 0

The planner flags (--num-samples, --num-elites, --guidance-coef, --planning-steps) change evaluation only. Every run
also prints an outcome-model check (how close psi is to its Bellman fixed point: the constant cumulant's psi against
its exact 1 / (1 - gamma) and the fixed point one backup of its samples implies, E[psi]'s spread across states
against Monte-Carlo sums of the data), and the analysis below a marker line of the .md file is kept when the table is
rewritten. ``gom_maze_goals_pooled.py`` pools several evaluations of a training run into one table and maze map.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "examples" / "gom"))

import train  # noqa: E402
import train_w  # noqa: E402
from config import parse_overrides  # noqa: E402

from rlkit.agents.gom import GOM  # noqa: E402
from rlkit.envs.path_plot import plot_paths  # noqa: E402
from rlkit.envs.path_recorder import RecordedPath, ScoredPaths  # noqa: E402
from rlkit.trainers.seeding import seed_everything  # noqa: E402
from rlkit.utils.atomic import atomic_write_text  # noqa: E402

# umaze cells (row, col) -> centre (col - 2, 2 - row): the two ends of the U and the middle of its right arm
DEFAULT_GOALS = ("-1,1", "-1,-1", "1,0")
PLANNERS = ("random_shooting", "guided_diffusion")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goals", nargs="+", default=list(DEFAULT_GOALS), help="goals x,y (default: %(default)s)")
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per goal and planner")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "gom_maze_goals", help="training run folder")
    parser.add_argument("--skip-train", action="store_true", help="reuse <run-dir>/gom.pt")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra config overrides (key=value)")
    parser.add_argument("--planners", nargs="+", choices=PLANNERS, default=list(PLANNERS), help="planners to evaluate")
    # evaluation-only planner settings (None: the small config's value); they never change the trained model
    parser.add_argument("--num-samples", type=int, default=None, help="random shooting: psi samples per step")
    parser.add_argument("--num-elites", type=int, default=None, help="random shooting: best samples averaged")
    parser.add_argument("--guidance-coef", type=float, default=None, help="guided diffusion: guidance coefficient")
    parser.add_argument("--planning-steps", type=int, default=None,
                        help="DDIM steps of the psi and action samples while acting (training keeps its own)")
    parser.add_argument("--num-envs", type=int, default=None, help="parallel evaluation envs (batched planner calls)")
    parser.add_argument("--paths", type=int, default=12,
                        help="episodes drawn per goal and planner in <out>_paths.png (0: no path figure)")
    parser.add_argument("--out", type=Path, default=RESULTS / "gom_maze_goals.json")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.paths < 0:
        parser.error(f"--episodes {args.episodes} --paths {args.paths}: expected episodes >= 1 and paths >= 0")
    return args


NOTES_MARKER = "<!-- notes: kept when the table is rewritten -->"


def recorded_training(run_dir: Path) -> tuple[int | None, float | None]:
    """The reused run's (steps trained, seconds) as its metrics.csv recorded them (None where absent; the logged
    step is 0-based)."""
    from rlkit.trainers.logger import read_metrics

    try:
        metrics = read_metrics(run_dir / "metrics.csv")
    except FileNotFoundError:
        return None, None

    def last(column: str) -> float | None:
        values = np.asarray(metrics.get(column, []), dtype=np.float64)
        return float(np.nanmax(values)) if np.isfinite(values).any() else None

    step, seconds = last("step"), last("time/elapsed_s")
    return (None if step is None else int(step) + 1), seconds


def planner_overrides(args: argparse.Namespace) -> list[str]:
    """The evaluation-only flags as config overrides (flags left unset keep the small config's values)."""
    pairs = [("planning.num_samples", args.num_samples), ("planning.num_elites", args.num_elites),
             ("planning.guidance_coef", args.guidance_coef), ("sampling.n_inference_steps", args.planning_steps),
             ("eval.num_envs", args.num_envs)]
    return [f"{key}={value}" for key, value in pairs if value is not None]


def outcome_model_check(gom: GOM, config: Any, states: int = 200, samples: int = 64, seed: int = 0) -> dict[str, float]:
    """How far psi is from its Bellman fixed point, from quantities that need no reward.

    The constant cumulant's discounted sum is exactly 1 / (1 - gamma) at every state, so the mean of psi's last
    coordinate over sampled outcomes measures, early in training, how many Bellman backups it achieved (1 - gamma^n
    of the way) and, once trained, the deficit below; the spread of E[psi] across states is compared with the
    Monte-Carlo discounted sums of the dataset's own (continuing) rollout, which is the behaviour occupancy psi
    models (no done mask, as the original).

    Why the constant reads what it reads: one backup of the model's own samples, ``E c(s) - (1 + gamma E c(s'))``
    at the sampled states, is the deficit ``d`` each Bellman target loses; a model at rest there has
    ``c = (1 + d) / (1 - gamma)``, so a deficit of 1% of a step costs the fixed point 1% of its horizon.
    """
    data = train.load_dataset_td(config)
    obs, next_obs = data["observation"].float(), data["next", "observation"].float()
    horizon = int(np.ceil(np.log(1e-3) / np.log(gom.gamma)))
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, obs.shape[0] - horizon, (states,), generator=generator)
    discounts = gom.gamma ** torch.arange(horizon, dtype=torch.float64)
    steps = config.sampling.n_inference_steps
    with torch.no_grad():
        windows = obs[rows[:, None] + torch.arange(horizon)]  # (states, horizon, obs_dim)
        monte_carlo = torch.einsum("t,std->sd", discounts, gom.features(windows).double()).float()
        psi = gom.sample_psi(obs[rows], samples, steps=steps, generator=generator).mean(dim=1)
        psi_next = gom.sample_psi(next_obs[rows], samples, steps=steps, generator=generator).mean(dim=1)
    deficit = float(psi[:, -1].mean() - 1.0 - gom.gamma * psi_next[:, -1].mean())
    return {"psi_const_mean": float(psi[:, -1].mean()), "psi_const_exact": 1.0 / (1.0 - gom.gamma),
            "psi_const_backup_deficit": deficit, "psi_const_implied": (1.0 + deficit) / (1.0 - gom.gamma),
            "psi_state_std": float(psi[:, :-1].std(dim=0).mean()),
            "mc_state_std": float(monte_carlo[:, :-1].std(dim=0).mean()),
            "psi_mean_abs_error": float((psi - monte_carlo)[:, :-1].abs().mean())}


def deficit_text(check: dict[str, float]) -> str:
    """The backup deficit and the fixed point it implies, for checks that have it (older reports do not)."""
    if "psi_const_backup_deficit" not in check:
        return ""
    return (f"; one backup of its samples loses {-check['psi_const_backup_deficit']:.3f}, which holds it at "
            f"{check['psi_const_implied']:.1f}")


def write_outputs(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, planners = report["results"], report["planners"]
    lines = ["| goal (x, y) | w fit R^2 | " + " | ".join(f"{p.replace('_', ' ')} success" for p in planners) + " |",
             "|---|---:|" + "---:|" * len(planners)]
    for goal in report["goals"]:
        cells = {r["planner"]: r for r in rows if r["goal"] == goal}
        lines.append(f"| {goal} | {cells[planners[0]]['w/r2']:.3f} | "
                     + " | ".join(f"{cells[p]['success_rate']:.2f}" for p in planners) + " |")
    means = report["mean_success"]
    lines.append("| **mean** | | " + " | ".join(f"**{means[p]:.2f}**" for p in planners) + " |")
    table = "\n".join(lines)
    seconds = report["train_seconds"]
    train_time = "time unknown" if seconds is None else f"{seconds / 60:.1f} min"
    check = report["outcome_model_check"]
    settings = ", ".join(f"{k} {v}" for k, v in report["planning"].items())
    text = (f"# GOM on maze2d-umaze-v1: one trained model, w refitted per goal\n\n"
            f"Command: `{report['command']}`\n\n{report['episodes']} episodes per goal and planner; training "
            f"{report['train_steps']} steps ({train_time}); {report['machine']}.\nPlanning: {settings}.\n\n"
            f"{table}\n\nOutcome-model check (200 dataset states, 64 samples each): constant cumulant's psi "
            f"{check['psi_const_mean']:.1f} (exact {check['psi_const_exact']:.1f}{deficit_text(check)}); "
            f"across-state std of E[psi] "
            f"{check['psi_state_std']:.2f} (Monte Carlo {check['mc_state_std']:.2f}); mean |E[psi] - MC| "
            f"{check['psi_mean_abs_error']:.2f}.\n")
    md = out.with_suffix(".md")
    if md.exists() and NOTES_MARKER in md.read_text():  # hand-written analysis below the marker survives reruns
        text += "\n" + NOTES_MARKER + md.read_text().split(NOTES_MARKER, 1)[1]
    atomic_write_text(md, text)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(report["goals"]))
    width = 0.76 / len(planners)
    for i, planner in enumerate(planners):
        values = [next(r["success_rate"] for r in rows if r["goal"] == g and r["planner"] == planner)
                  for g in report["goals"]]
        ax.bar(x + (i - (len(planners) - 1) / 2) * width, values, width=width, label=planner.replace("_", " "))
    ax.axhline(0.7, color="k", linestyle="--", linewidth=1, label="target 0.7")
    ax.set_xticks(x, [f"goal ({g})" for g in report["goals"]])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate")
    ax.set_title("GOM, maze2d-umaze-v1: w refitted per goal")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)
    print(table)


def write_paths_figure(report: dict[str, Any], paths: dict[tuple[str, str], list[RecordedPath]], config: Any,
                       out: Path) -> Path:
    """<out>_paths.png: a row per planner, a column per goal; the first scored episodes, green if they succeeded."""
    env = train.make_eval_env(config)
    try:
        grid = env.unwrapped.grid
    finally:
        env.close()
    panels, goals = {}, {}
    for planner in report["planners"]:
        for goal in report["goals"]:
            name = f"{planner.replace('_', ' ')}, goal ({goal})"
            panels[name] = paths[(goal, planner)]
            goals[name] = [float(v) for v in goal.split(",")]
    steps = report["planning"]["ddim_steps"]
    title = (f"GOM on maze2d-umaze-v1, {report['train_steps']} training steps, {steps} DDIM steps when acting: "
             f"first {max(len(p) for p in panels.values())} of {report['episodes']} episodes per panel")
    return plot_paths(panels, grid, out.with_name(out.stem + "_paths.png"), goals=goals,
                      success_radius=config.success_radius, ncols=len(report["goals"]), title=title)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    base = ["config=small", f"logdir={args.run_dir}", *args.overrides]
    started = time.perf_counter()
    if not args.skip_train:
        train.main(base + ["training.resume=true"])
    config = parse_overrides(base + planner_overrides(args))
    # a reused run reports its own training, not this command's config
    train_steps, train_seconds = recorded_training(args.run_dir) if args.skip_train else \
        (config.training.num_steps, time.perf_counter() - started)
    check = outcome_model_check(GOM.load(args.run_dir / "gom.pt"), config)
    print(json.dumps({"outcome_model_check": check}), flush=True)
    results: list[dict[str, Any]] = []
    paths: dict[tuple[str, str], list[RecordedPath]] = {}
    for goal_text in args.goals:
        for planner in args.planners:
            goal_config = parse_overrides(base + planner_overrides(args) + [
                f"goal={goal_text}", f"planning.planner={planner}", f"eval.num_episodes={args.episodes}"])
            gom = GOM.load(args.run_dir / "gom.pt")
            goal = np.asarray(goal_config.goal, dtype=np.float64)
            tic = time.perf_counter()
            seed_everything(goal_config.seed)  # the planners draw from torch's global RNG: each row reproducible alone
            fit = train_w.refit_w(goal_config, gom, goal, seed=goal_config.seed)
            recorder = ScoredPaths()
            metrics = train.run_evaluation(goal_config, gom, torch.device("cpu"), goal, wrap_env=recorder)
            scored = recorder.scored(args.episodes)
            if [p.success for p in scored].count(True) != round(metrics["eval/success"] * args.episodes):
                print(f"warning: the recorded paths of {goal_text} / {planner} disagree with the success rate",
                      file=sys.stderr)
            paths[(goal_text, planner)] = scored[: args.paths]
            row = {"goal": goal_text, "planner": planner, **fit, "success_rate": metrics["eval/success"],
                   "return_mean": metrics["eval/return"], "seconds": time.perf_counter() - tic}
            print(json.dumps(row), flush=True)
            results.append(row)
    mean_success = {p: float(np.mean([r["success_rate"] for r in results if r["planner"] == p]))
                    for p in args.planners}
    planning = {"num_samples": config.planning.num_samples, "num_elites": config.planning.num_elites,
                "guidance_coef": config.planning.guidance_coef, "ddim_steps": config.sampling.n_inference_steps}
    report = {
        "command": f"OMP_NUM_THREADS={torch.get_num_threads()} python benchmarks/gom_maze_goals.py "
                   + shlex.join(argv or sys.argv[1:]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} thread(s)",
        "goals": args.goals, "planners": args.planners, "episodes": args.episodes,
        "train_steps": train_steps, "train_seconds": train_seconds,
        "config": "small " + " ".join(args.overrides), "gamma": config.gamma, "ema_rate": config.model.ema_rate,
        "goal_scale": config.goal_scale, "planning": planning, "outcome_model_check": check,
        "results": results, "mean_success": mean_success, "target": 0.7,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    write_outputs(report, args.out)
    if args.paths:
        write_paths_figure(report, paths, config, args.out)
    return report


if __name__ == "__main__":
    main()
