"""Pool ``gom_maze_goals.py`` evaluations per training run: success per goal cell, a table and a map of the maze.

One evaluation covers a few goals at one episode count; repeats and extra goals land in separate JSON files. This
script pools them per training run (episode-weighted success per goal and planner), checks that the pooled files
used the same planner settings, and writes ``<out>.md`` (the table), ``<out>.json`` (every pooled number and its
inputs) and ``<out>.png`` (each goal cell coloured by its success, a column per run, a row per planner).

    python benchmarks/gom_maze_goals_pooled.py --out benchmarks/results/gom_maze_goals_g99_90k_pooled \\
        --run "seed 0" benchmarks/results/a.json benchmarks/results/b.json --run "seed 1" benchmarks/results/c.json \\
        --headline-goals="-1,1 -1,-1 1,0"
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rlkit.envs.cell_plot import plot_cell_values  # noqa: E402
from rlkit.utils.atomic import atomic_write_text  # noqa: E402

# the planning settings each planner's success depends on (the others are ignored by that planner)
RELEVANT = {"random_shooting": ("num_samples", "num_elites", "ddim_steps"),
            "guided_diffusion": ("guidance_coef", "ddim_steps")}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", nargs="+", action="append", required=True, metavar=("NAME", "JSON"),
                        help="a training run's name, then its gom_maze_goals.py JSON files (repeat per run)")
    parser.add_argument("--headline-goals", default=None, type=str.split,
                        help='goals whose mean is also reported, one quoted string (x,y pairs separated by spaces: '
                             '"-1,1 -1,-1"; a separate argument starting with "-" would read as a flag)')
    parser.add_argument("--maze", default="umaze", help="maze2d layout of the figure (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    for run in args.run:
        if len(run) < 2:
            parser.error(f"--run {run[0]!r}: give the run's name, then at least one JSON file")
    return args


def evaluations(path: Path) -> Iterator[dict[str, Any]]:
    """Rows ``{goal, planner, success_rate, episodes, settings, train_steps}`` of one results file.

    Reads ``gom_maze_goals.py``'s report, and the older bundles that list several reports under ``"runs"`` (their
    episode count is then read from each report's ``--episodes`` flag).
    """
    data = json.loads(path.read_text())
    reports = data.get("runs", [data])
    for report in reports:
        episodes = report.get("episodes")
        if episodes is None:
            found = re.search(r"--episodes[ =](\d+)", report.get("command", ""))
            if found is None:
                raise ValueError(f"{path}: a report records no episode count (no 'episodes', no --episodes flag)")
            episodes = int(found.group(1))
        for row in report["results"]:
            settings = {k: report["planning"][k] for k in RELEVANT[row["planner"]]}
            yield {"goal": row["goal"], "planner": row["planner"], "success_rate": float(row["success_rate"]),
                   "episodes": int(episodes), "settings": settings, "train_steps": report.get("train_steps"),
                   "file": str(path)}


def pool(runs: list[list[str]]) -> dict[str, Any]:
    """Episode-weighted success per (run, planner, goal); raises if a planner's settings differ between files."""
    settings: dict[str, tuple[dict, str]] = {}
    pooled: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name, *files in runs:
        steps: set = set()
        for file in files:
            for row in evaluations(Path(file)):
                first = settings.setdefault(row["planner"], (row["settings"], row["file"]))
                if row["settings"] != first[0]:
                    raise ValueError(f"{row['planner']}: {row['file']} used {row['settings']}, {first[1]} used "
                                     f"{first[0]}; pool evaluations of one planner setting only")
                steps.add(row["train_steps"])
                cell = pooled.setdefault(name, {}).setdefault(row["planner"], {}).setdefault(
                    row["goal"], {"successes": 0.0, "episodes": 0})
                cell["successes"] += row["success_rate"] * row["episodes"]
                cell["episodes"] += row["episodes"]
        if len(steps) > 1:
            raise ValueError(f"run {name!r}: its files come from different training lengths {sorted(steps)}")
    for planners in pooled.values():
        for goals in planners.values():
            for cell in goals.values():
                cell["success"] = cell["successes"] / cell["episodes"]
    return {"pooled": pooled, "settings": {p: s for p, (s, _) in settings.items()}}


def goal_key(goal: str) -> tuple[float, ...]:
    return tuple(float(v) for v in goal.split(","))


def summary(pooled: dict[str, Any], headline: list[str] | None) -> dict[str, Any]:
    """Per run and planner: the mean over all its goals and over the headline goals; and the means over runs."""
    means: dict[str, Any] = {}
    for run, planners in pooled.items():
        for planner, goals in planners.items():
            entry = means.setdefault(planner, {}).setdefault(run, {})
            entry["all"] = float(np.mean([c["success"] for c in goals.values()]))
            entry["goals"] = len(goals)
            if headline:
                missing = [g for g in headline if g not in goals]
                if missing:
                    raise ValueError(f"run {run!r}, {planner}: no evaluation of headline goals {missing}")
                entry["headline"] = float(np.mean([goals[g]["success"] for g in headline]))
    for runs in means.values():
        runs["mean over runs"] = {k: float(np.mean([r[k] for r in runs.values()]))
                                  for k in ("all", "headline") if all(k in r for r in runs.values())}
    return means


def table(pooled: dict[str, Any], means: dict[str, Any], headline: list[str] | None) -> str:
    runs = list(pooled)
    planners = sorted({p for planners in pooled.values() for p in planners})
    goals = sorted({g for planners in pooled.values() for gs in planners.values() for g in gs},
                   key=lambda g: (-goal_key(g)[1], goal_key(g)[0]))  # top row first, left to right
    header = "| goal (x, y) | " + " | ".join(f"{p.replace('_', ' ')}, {r}" for p in planners for r in runs) + " |"
    lines = [header, "|---|" + "---:|" * (len(planners) * len(runs))]
    for goal in goals:
        cells = []
        for planner in planners:
            for run in runs:
                cell = pooled[run].get(planner, {}).get(goal)
                cells.append("" if cell is None else f"{cell['success']:.2f} ({cell['episodes']})")
        mark = " *" if headline and goal in headline else ""
        lines.append(f"| {goal}{mark} | " + " | ".join(cells) + " |")
    for key, label in (("all", "mean, all goals"), ("headline", "mean, marked goals (*)")):
        if key == "headline" and not headline:
            continue
        lines.append(f"| **{label}** | " + " | ".join(
            f"{means[p][r][key]:.2f}" if r in means.get(p, {}) else "" for p in planners for r in runs) + " |")
    over = ", ".join(f"{p.replace('_', ' ')} {means[p]['mean over runs']['all']:.2f}"
                     + (f" ({means[p]['mean over runs']['headline']:.2f} on the marked goals (*))" if headline else "")
                     for p in planners)
    return "\n".join(lines) + f"\n\nMean over runs: {over}. Cells: pooled success (episodes).\n"


def maze_grid(maze: str):
    from rlkit.envs.maze2d import Maze2DEnv

    env = Maze2DEnv(maze)
    try:
        return env.grid
    finally:
        env.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = pool(args.run)
    means = summary(result["pooled"], args.headline_goals)
    text = table(result["pooled"], means, args.headline_goals)
    command = "python benchmarks/gom_maze_goals_pooled.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    settings = "; ".join(f"{p.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in s.items())
                         for p, s in result["settings"].items())
    atomic_write_text(args.out.with_suffix(".md"),
                      f"# GOM on maze2d-umaze-v1: success per goal, pooled per training run\n\n"
                      f"Command: `{command}`\n\nPlanning: {settings}.\n\n{text}")
    report = {"command": command, "inputs": {name: files for name, *files in args.run}, **result, "means": means,
              "headline_goals": args.headline_goals}
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(report, indent=1) + "\n")
    panels = {}
    for planner in sorted(means):
        for run in result["pooled"]:
            goals = result["pooled"][run].get(planner, {})
            panels[f"{planner.replace('_', ' ')}, {run}"] = {goal_key(g): c["success"] for g, c in goals.items()}
    plot_cell_values(panels, maze_grid(args.maze), args.out.with_suffix(".png"), label="success rate",
                     ncols=len(result["pooled"]),
                     title="GOM on maze2d-umaze-v1: success with each cell as the goal (w refitted per goal)")
    print(text)
    return report


if __name__ == "__main__":
    main()
