"""Re-evaluate the saved agents of a ``borel_results.py`` runs root on more held-out tasks (no training).

A run evaluates its agent on ``--num-eval-tasks`` held-out tasks (10 on the small semi-circle), which puts a
quantisation of 0.1 and a standard error of ~0.15 on each seed's success, on top of the spread between trained
agents. Evaluation costs seconds, so this script loads each saved agent and VAE and evaluates them on ``--tasks``
held-out tasks (drawn as the runs draw theirs: fresh tasks of the family, seeded by the run's seed). The grid's
held-out goals are finite (5 by default), so there this adds nothing. ``--task-set training`` evaluates on the
tasks the data came from instead: a diagnostic that separates "RR does not help" from "the agent does not reach
goals it has never seen rewarded".

    OMP_NUM_THREADS=1 python benchmarks/borel_reevaluate.py --runs-root /tmp/b5bench --seeds 0 1 2 3 4 --tasks 50

Give the same ``--vaes-from`` and ``--extra`` as the ``borel_results.py`` command that trained the runs.
Writes ``--out``/borel_reevaluate.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import borel_results  # noqa: E402

from rlkit.utils.atomic import atomic_write_text  # noqa: E402


def reevaluate(env: str, seed: int, rr: bool, runs_root: Path, tasks: int, extra: list[str],
               vaes_from: Path | None, task_set: str = "held-out") -> list[float]:
    """Per-episode success of the run's saved agent on ``tasks`` held-out (or training) tasks."""
    # training tasks keep the run's own held-out count, so that its arguments stay valid (the grid has 21 goals)
    held_out = [] if task_set == "training" else ["--num-eval-tasks", str(tasks)]
    argv = borel_results.run_argv(env, seed, rr, runs_root, False, [*extra, *held_out], vaes_from)
    results, _, _ = borel_results.evaluate_saved_run(borel_results.parse_args(argv), tasks, task_set)
    return [float(x) for x in results.summary()["success"]]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["point_robot_sparse"], choices=borel_results.ENVS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--runs-root", type=Path, required=True)
    parser.add_argument("--vaes-from", type=Path, default=None)
    parser.add_argument("--extra", default="", help="the --extra of the borel_results.py command")
    parser.add_argument("--tasks", type=int, default=50, help="tasks per run")
    parser.add_argument("--task-set", choices=("held-out", "training"), default="held-out",
                        help="evaluate on held-out tasks (the result) or on the data's own tasks (a diagnostic)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/borel_reevaluate"))
    options = parser.parse_args(argv)
    if options.tasks < 1:
        parser.error(f"--tasks must be >= 1; got {options.tasks}")
    extra = shlex.split(options.extra)
    success: dict[str, dict[str, list[list[float]]]] = {}
    lines = ["| env | RR | seeds | success ep 1 | success ep 2 | per seed, ep 1 -> ep 2 |",
             "|---|---|---:|---:|---:|---|"]
    for env in options.envs:
        success[env] = {}
        for tag, rr in (("rr", True), ("no_rr", False)):
            runs = [reevaluate(env, seed, rr, options.runs_root, options.tasks, extra, options.vaes_from,
                               options.task_set) for seed in options.seeds]
            success[env][tag] = runs
            values = np.array(runs)
            per_seed = ", ".join(f"{a:.2f}->{b:.2f}" for a, b in values[:, :2])
            lines.append(f"| {env} | {'yes' if rr else 'no'} | {len(runs)} | {values[:, 0].mean():.2f} ± "
                         f"{values[:, 0].std():.2f} | {values[:, 1].mean():.2f} ± {values[:, 1].std():.2f} | "
                         f"{per_seed} |")
    verdict = {}
    for env, by_tag in success.items():
        rr, no_rr = (np.array(by_tag[tag])[:, 1] for tag in ("rr", "no_rr"))
        verdict[env] = bool(rr.mean() - no_rr.mean() > max(0.1, rr.std(), no_rr.std()))
    command = "OMP_NUM_THREADS=1 python benchmarks/borel_reevaluate.py " + shlex.join(argv or sys.argv[1:])
    markdown = "\n".join(lines) + "\n\nRR clearly better in episode 2 (gap > 0.1 and > the std over seeds): " + \
        ", ".join(f"{env}: {'yes' if ok else 'no'}" for env, ok in verdict.items())
    print(markdown)
    summary = {"command": command, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "tasks": options.tasks, "task_set": options.task_set, "seeds": options.seeds, "extra": extra,
               "success": success, "rr_clearly_better": verdict}
    options.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(options.out / "borel_reevaluate.json", json.dumps(summary, indent=1))
    atomic_write_text(options.out / "borel_reevaluate.md",
                      f"# BOReL: saved agents on {options.tasks} {options.task_set} tasks each\n\n`{command}`\n\n"
                      f"{markdown}\n")
    return summary


if __name__ == "__main__":
    main()
