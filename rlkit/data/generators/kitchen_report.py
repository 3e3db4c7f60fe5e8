"""Per-subtask completion table of a kitchen dataset: how often each subtask (and all four) got done, in how long.

Reads the per-row ``infos/tasks_completed`` and ``infos/task_plan`` bitmasks (bit i = ``TARGET_TASKS[i]``) that
``rlkit.data.generators.kitchen`` writes; for files without them (e.g. D4RL's own) completions are recomputed from
the 60-d observations with D4RL's 0.3-distance rule. Usable from Python, the benchmark, and the command line::

    python -m rlkit.data.generators.kitchen_report kitchen-mixed-v0      # a name in rlkit's cache, or a path
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from rlkit.envs.kitchen_layout import TARGET_TASKS, completed_tasks_mask

ALL_FOUR = (1 << len(TARGET_TASKS)) - 1


def _episode_slices(ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) rows of each episode, given the rows that end one (the last row always does)."""
    ends = np.asarray(ends, dtype=bool).copy()
    if ends.size == 0:
        raise ValueError("the dataset has no rows")
    ends[-1] = True
    stops = np.flatnonzero(ends) + 1
    starts = np.concatenate([[0], stops[:-1]])
    return starts, stops


def completion_summary(tasks_completed: np.ndarray, task_plan: np.ndarray | None, ends: np.ndarray) -> dict[str, Any]:
    """Per-episode completion statistics from per-row bitmasks.

    Args:
        tasks_completed: (N,) bitmask of the target subtasks completed so far in the episode, at each row.
        task_plan: (N,) bitmask of the subtasks each row's episode attempted, or None (unknown).
        ends: (N,) bool, True at the last row of each episode (terminals | timeouts).

    Returns a dict: ``episodes``, ``mean_steps``, per task ``{task: fraction of episodes completing it}`` under
    ``"done"``, ``"done_when_planned"`` (fraction of the episodes that attempted it), ``all_four`` (fraction of
    episodes completing all four), ``failed_episodes`` (a planned subtask not completed) and ``success`` (fraction
    of planned subtasks completed).
    """
    tasks_completed = np.asarray(tasks_completed).astype(np.int64).reshape(-1)
    starts, stops = _episode_slices(ends)
    final = tasks_completed[stops - 1]
    lengths = stops - starts
    plan = None if task_plan is None else np.asarray(task_plan).astype(np.int64).reshape(-1)[starts]
    done, when_planned = {}, {}
    for i, task in enumerate(TARGET_TASKS):
        bit = 1 << i
        got = (final & bit) != 0
        done[task] = float(got.mean())
        if plan is not None:
            planned = (plan & bit) != 0
            when_planned[task] = float(got[planned].mean()) if planned.any() else float("nan")
    summary: dict[str, Any] = {
        "episodes": int(len(starts)),
        "mean_steps": float(lengths.mean()),
        "done": done,
        "done_when_planned": when_planned,
        "all_four": float(((final & ALL_FOUR) == ALL_FOUR).mean()),
        "failed_episodes": 0,
        "success": float("nan"),
    }
    if plan is not None:
        missed = plan & ~final
        summary["failed_episodes"] = int((missed != 0).sum())
        planned_count = sum(int(((plan >> i) & 1).sum()) for i in range(len(TARGET_TASKS)))
        done_count = sum(int((((plan & final) >> i) & 1).sum()) for i in range(len(TARGET_TASKS)))
        summary["success"] = done_count / planned_count if planned_count else float("nan")
    return summary


def summary_from_tensordict(td) -> dict[str, Any]:
    """``completion_summary`` of a kitchen dataset loaded by ``rlkit.data.load_d4rl`` (rlkit's layout)."""
    from rlkit.data import keys as K

    ends = td.get(K.DONE).reshape(-1).numpy()
    infos = td.get(K.INFOS, None)
    if infos is not None and "tasks_completed" in infos:
        plan = infos.get("task_plan").numpy() if "task_plan" in infos else None
        return completion_summary(infos.get("tasks_completed").numpy(), plan, ends)
    # no bitmasks (e.g. D4RL's file): completion of each target task in each row's s', kept once reached
    obs = td.get(K.NEXT_OBS).numpy()
    mask = completed_tasks_mask(obs) @ (1 << np.arange(len(TARGET_TASKS)))
    starts, stops = _episode_slices(ends)
    cumulative = np.zeros_like(mask)
    for start, stop in zip(starts, stops, strict=True):  # per episode (not per row): a running bitwise OR
        cumulative[start:stop] = np.bitwise_or.accumulate(mask[start:stop])
    return completion_summary(cumulative, None, ends)


def format_completion_table(summary: dict[str, Any], title: str = "") -> str:
    """The summary as a markdown table: one row per subtask, then all four."""
    lines = [f"### {title}" if title else "", f"episodes: {summary['episodes']}, mean steps per episode: "
             f"{summary['mean_steps']:.1f}", "", "| subtask | episodes completing | completing when attempted |",
             "|---|---:|---:|"]
    for task in TARGET_TASKS:
        planned = summary["done_when_planned"].get(task)
        planned_text = "n/a" if planned is None or np.isnan(planned) else f"{100 * planned:.1f}%"
        lines.append(f"| {task} | {100 * summary['done'][task]:.1f}% | {planned_text} |")
    lines.append(f"| all four | {100 * summary['all_four']:.1f}% | |")
    return "\n".join(line for line in lines if line is not None).strip("\n")


def kitchen_report(source: str | os.PathLike) -> str:
    """The completion table of a kitchen dataset file (a path, or a dataset name resolved by rlkit)."""
    from rlkit.data import load_d4rl
    from rlkit.data.paths import default_dataset_path

    path = source if os.path.exists(source) else default_dataset_path(str(source))
    if not os.path.exists(path):
        raise FileNotFoundError(f"no kitchen dataset at {source!r} (looked for {path}); build it with "
                                f"`python -m rlkit.data build {source}`")
    return format_completion_table(summary_from_tensordict(load_d4rl(path)), title=str(source))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-subtask completion table of kitchen datasets.")
    parser.add_argument("datasets", nargs="+", help="dataset names (rlkit's cache) or hdf5 paths")
    args = parser.parse_args(argv)
    for source in args.datasets:
        try:
            print(kitchen_report(source))
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
