"""PTGM vs PTGM without the prior term vs flat SAC: sparse-reward goal reaching in maze2d-medium, same env steps.

One pretraining (codebook, prior, low level: ``examples/ptgm`` stages 1-3 with ``--small``) on the locally built
maze2d-medium-v1, then for every task x method x seed one ``train_hrl.py`` run (``--small``: 20k env steps, an
evaluation of 5 episodes every 4k env steps, the same evaluation starts for every method):

- ``ptgm``: the high level starts as the prior and pays alpha * KL(prior || pi) (target KL 5);
- ``no_prior``: the same codes and low level, a uniform prior and a fresh policy;
- ``flat_sac``: TorchRL's SAC on the raw actions from scratch, one update per 10 env steps.

Tasks: ``rlkit.envs.goal_tasks.MAZE_GOAL_TASKS["medium6"]`` (three goals 6 moves from the start cell, one per
branch of the maze), reward 1 within 0.5 of the goal, episodes of 600 steps ending on success.

    OMP_NUM_THREADS=1 python benchmarks/ptgm_results.py                     # ~30 min on a 2-core CPU
    OMP_NUM_THREADS=1 python benchmarks/ptgm_results.py --seeds 0 --env-steps 4000 --out-name ptgm_smoke

Outputs: ``benchmarks/results/<out-name>.json`` (every run's evaluation curve and summary, the command, machine and
versions), ``<out-name>.md`` (the table) and ``<out-name>.png`` (success rate vs env steps, mean ± std over seeds,
one panel per goal). Runs live in ``--work-dir``; a run whose summary.json exists is read, not run again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
EXAMPLE = ROOT / "examples" / "ptgm"
METHODS = {"ptgm": "PTGM", "no_prior": "PTGM w/o prior", "flat_sac": "flat SAC"}
TASKS = ("medium6-top", "medium6-centre", "medium6-left")
SOLVED = 0.6  # an evaluation success rate at or above this counts as "reached"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="maze2d-medium-v1", help="maze2d dataset name or path")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), help="maze task names")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--env-steps", type=int, default=None, help="env-step budget per run (--small's 20k)")
    parser.add_argument("--work-dir", default=str(ROOT / "runs" / "ptgm_results"), help="artefacts and runs")
    parser.add_argument("--out-name", default="ptgm_results", help="file stem under benchmarks/results/")
    return parser.parse_args(argv)


def load_example() -> dict[str, Any]:
    sys.path.insert(0, str(EXAMPLE))
    import config
    import generate_codebook
    import train_hrl
    import train_lowlevel
    import train_prior

    return {"config": config, "codebook": generate_codebook, "prior": train_prior, "lowlevel": train_lowlevel,
            "hrl": train_hrl}


def steps_to_solve(evals: list[dict[str, float]]) -> int | None:
    """Env steps of the first evaluation with success rate >= SOLVED (None: never within the budget)."""
    return next((int(e["env_steps"]) for e in evals if e["success_rate"] >= SOLVED), None)


def summarise(runs: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Per task and method: final and mean success (mean ± std over seeds), steps to solve, first success."""
    rows = []
    for task in dict.fromkeys(r["task"] for r in runs):
        for method in dict.fromkeys(r["method"] for r in runs):
            group = [r for r in runs if r["task"] == task and r["method"] == method]
            if not group:
                continue
            final = np.array([r["final_success_rate"] for r in group])
            auc = np.array([np.mean([e["success_rate"] for e in r["evals"]]) for r in group])
            solve = [steps_to_solve(r["evals"]) for r in group]
            first = [r["first_success_step"] for r in group]
            rows.append({
                "task": task, "method": method, "seeds": len(group),
                "final_success_mean": float(final.mean()), "final_success_std": float(final.std()),
                "mean_success_mean": float(auc.mean()), "mean_success_std": float(auc.std()),
                "solved_seeds": sum(s is not None for s in solve),
                # a seed that never solved counts as the budget: a lower bound on its true steps
                "steps_to_solve_mean": float(np.mean([budget if s is None else s for s in solve])),
                "first_success_median": None if all(f is None for f in first)
                else float(np.median([budget if f is None else f for f in first])),
            })
    return rows


def table(rows: list[dict[str, Any]], budget: int) -> str:
    lines = [f"| goal | method | final success | mean success over evals | seeds reaching {SOLVED:.0%} | "
             f"env steps to {SOLVED:.0%} (budget if never) | first training success (median) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        first = "never" if r["first_success_median"] is None else f"{r['first_success_median']:,.0f}"
        lines.append(f"| {r['task']} | {METHODS[r['method']]} | {r['final_success_mean']:.2f} ± "
                     f"{r['final_success_std']:.2f} | {r['mean_success_mean']:.2f} ± {r['mean_success_std']:.2f} | "
                     f"{r['solved_seeds']}/{r['seeds']} | {r['steps_to_solve_mean']:,.0f} | {first} |")
    return "\n".join(lines) + f"\n\nBudget: {budget:,} env steps per run.\n"


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in runs))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for method, label in METHODS.items():
            group = [r for r in runs if r["task"] == task and r["method"] == method]
            if not group:
                continue
            steps = np.array([e["env_steps"] for e in group[0]["evals"]])
            curves = np.array([[e["success_rate"] for e in r["evals"]] for r in group])
            mean, std = curves.mean(0), curves.std(0)
            (line,) = ax.plot(steps, mean, marker="o", ms=3, label=f"{label} (n={len(group)})")
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set(title=task, xlabel="env steps", ylabel="eval success rate", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def versions() -> dict[str, str]:
    import gymnasium
    import torch
    import torchrl

    return {"python": platform.python_version(), "torch": torch.__version__, "torchrl": torchrl.__version__,
            "gymnasium": gymnasium.__version__, "numpy": np.__version__}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    example = load_example()
    work = Path(args.work_dir)
    base = ["--small", "--dataset", args.dataset, "--run-dir", str(work), "--no-progress"]
    if args.env_steps is not None:
        base += ["--env-steps", str(args.env_steps)]
    started = time.perf_counter()
    stages = {"codebook": "codebook.pt", "prior": "prior.pt", "lowlevel": "lowlevel.pt"}
    pretraining = {}
    for stage, artefact in stages.items():
        if not (work / artefact).is_file():
            pretraining[stage] = example[stage].main(base)
    pretrain_seconds = time.perf_counter() - started
    runs = []
    for task in args.tasks:
        for method in args.methods:
            for seed in args.seeds:
                flags = [*base, "--task", task, "--method", method, "--seed", str(seed)]
                config = example["config"].parse_args(flags)
                summary_path = work / example["hrl"].run_name(config) / "summary.json"
                run_started = time.perf_counter()
                if summary_path.is_file():
                    summary = json.loads(summary_path.read_text())
                else:
                    summary = example["hrl"].main(config=config)
                summary["seconds"] = round(time.perf_counter() - run_started, 1)
                runs.append(summary)
                print(f"{task} {method} s{seed}: final {summary['final_success_rate']:.2f} "
                      f"first success {summary['first_success_step']} ({summary['seconds']} s)", flush=True)
    budget = runs[0]["env_steps"]
    rows = summarise(runs, budget)
    text = table(rows, budget)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/ptgm_results.py " + shlex.join(argv or sys.argv[1:]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpus": os.cpu_count(), "versions": versions(), "pretraining": pretraining,
        "pretrain_seconds": round(pretrain_seconds, 1), "total_seconds": round(time.perf_counter() - started, 1),
        "solved_threshold": SOLVED, "table": rows, "runs": runs,
    }
    (RESULTS / f"{args.out_name}.json").write_text(json.dumps(result, indent=1))
    (RESULTS / f"{args.out_name}.md").write_text(f"# {args.out_name}\n\n`{result['command']}`\n\n{text}")
    plot(runs, RESULTS / f"{args.out_name}.png")
    return result


if __name__ == "__main__":
    main()
