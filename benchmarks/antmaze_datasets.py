"""Quality and speed of the antmaze-*-v2 generators: goals reached per episode, flip rate, cell coverage, steps/s.

Each dataset is generated for ``--steps`` transitions in this process (``workers=1``, so steps/s is per core; a build
uses one process per core), and the generator's statistics are read from its metadata:

- goals/episode: collection goals reached per 1000-step episode (an episode cut by a flip counts what it reached);
- no-goal: the fraction of episodes that reached none;
- flip rate: the fraction of episodes cut because the ant ended on its back;
- coverage: the fraction of the maze's free cells the ant's xy visited;
- eval-goal rows: transitions with reward 1 (s' within 0.5 m of D4RL's evaluation goal).

    OMP_NUM_THREADS=1 python benchmarks/antmaze_datasets.py --steps 50000
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from rlkit.data.generators.antmaze import DATASETS, generate_antmaze

RESULTS = Path(__file__).parent / "results" / "antmaze_datasets.json"


def measure(name: str, steps: int, seed: int) -> dict:
    started = time.perf_counter()
    td, metadata = generate_antmaze(name, steps, seed, progress=False, workers=1)
    seconds = time.perf_counter() - started
    stats = metadata["stats"]
    return {
        "dataset": name,
        "steps": steps,
        "seconds": round(seconds, 2),
        "steps_per_s": round(steps / seconds, 1),
        "episodes": stats["episodes"],
        "goals_per_episode": round(stats["goals_per_episode"], 3),
        "episodes_without_goal": round(stats["episodes_without_goal"], 3),
        "flip_rate": round(stats["flip_rate"], 4),
        "cell_coverage": round(stats["cell_coverage"], 3),
        "eval_goal_rows": int(td["next", "reward"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="transitions per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    rows = [measure(name, args.steps, args.seed) for name in args.datasets]
    header = f"{'dataset':28s} {'steps/s':>8s} {'episodes':>8s} {'goals/ep':>8s} {'no-goal':>8s} {'flips':>7s} " \
             f"{'coverage':>8s} {'eval-goal rows':>14s}"
    print(header)
    for r in rows:
        print(
            f"{r['dataset']:28s} {r['steps_per_s']:8.0f} {r['episodes']:8d} {r['goals_per_episode']:8.2f} "
            f"{r['episodes_without_goal']:8.2%} {r['flip_rate']:7.2%} {r['cell_coverage']:8.0%} "
            f"{r['eval_goal_rows']:14d}"
        )
    result = {
        "benchmark": "antmaze_datasets",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": f"OMP_NUM_THREADS=1 python benchmarks/antmaze_datasets.py --steps {args.steps} --seed {args.seed}",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "note": "one process (workers=1); the CPU was shared with other jobs",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
