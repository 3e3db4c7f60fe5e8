"""Per-subtask success and steps of the scripted kitchen controller over noisy episodes (the kitchen datasets' policy).

Each episode is generated exactly as a kitchen-complete-v0 episode (``rlkit.data.generators.kitchen.run_episode``):
perturbed initial joints, 0-10 random warm-up steps, U(-0.05, 0.05) action noise, the four target subtasks in
D4RL's order, a 400-step limit. Targets (issue 7): every subtask >= 90%, all four in one episode >= 80%.

    OMP_NUM_THREADS=1 python benchmarks/kitchen_controller.py                 # 50 episodes
    OMP_NUM_THREADS=1 python benchmarks/kitchen_controller.py --episodes 10 --out /tmp/kitchen.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from rlkit.agents.kitchen_controller import KitchenController
from rlkit.data.generators.kitchen import make_kitchen_env, run_episode
from rlkit.envs.kitchen_layout import TARGET_TASKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "kitchen_controller.json"))
    args = parser.parse_args()

    env = make_kitchen_env()
    controller = KitchenController(env.unwrapped.model)
    rng = np.random.default_rng(args.seed)
    finals, first_done, lengths = [], [], []
    started = time.perf_counter()
    for _ in range(args.episodes):
        episode = run_episode(env, controller, list(TARGET_TASKS), rng)
        completed = episode["infos/tasks_completed"].astype(int)
        finals.append(int(completed[-1]))
        lengths.append(len(completed))
        # the step (1-based) at which each subtask first counted as done, or NaN
        first_done.append([float(np.argmax((completed >> i) & 1) + 1) if (completed[-1] >> i) & 1 else np.nan
                           for i in range(len(TARGET_TASKS))])
    seconds = time.perf_counter() - started
    finals_arr, first = np.array(finals), np.array(first_done)
    rows = []
    for i, task in enumerate(TARGET_TASKS):
        done = (finals_arr >> i) & 1
        rows.append({"subtask": task, "success": float(done.mean()),
                     "mean_step_done": float(np.nanmean(first[:, i])) if done.any() else None})
    all_four = float((finals_arr == 15).mean())
    result = {
        "command": " ".join([sys.executable.split("/")[-1], *sys.argv]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "episodes": args.episodes,
        "seed": args.seed,
        "subtasks": rows,
        "all_four": all_four,
        "mean_episode_steps": float(np.mean(lengths)),
        "max_episode_steps_seen": int(np.max(lengths)),
        "env_steps_per_second": float(np.sum(lengths) / seconds),
        "seconds": seconds,
    }
    print(f"kitchen controller, {args.episodes} noisy episodes (seed {args.seed})\n")
    print("| subtask | success | mean step done |\n|---|---:|---:|")
    for row in rows:
        step = "-" if row["mean_step_done"] is None else f"{row['mean_step_done']:.0f}"
        print(f"| {row['subtask']} | {100 * row['success']:.0f}% | {step} |")
    print(f"| all four | {100 * all_four:.0f}% | {result['mean_episode_steps']:.0f} (episode) |")
    print(f"\n{result['env_steps_per_second']:.0f} env steps/s with the controller (one process)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
