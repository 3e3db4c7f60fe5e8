"""The original's motivation experiment: a one-step bandit whose offline data never show the optimum.

``bandit-motivation-v0`` (``rlkit.envs.bandit``): observation the constant 1, action a in [-1, 1],
r(a) = (a + 1)^2 for a < 0 and 1 - 2a for a >= 0, so the best action is a = 0 (r = 1). Its 128 offline actions lie in
U(-1, -0.95) (r <= 0.0025) and U(0.5, 1) (r in [-1, 0]). A decision transformer asked for the return 1 can only
imitate actions it has seen, so ODT, finetuned online with hindsight relabelling, stays near r = 0; the critic's
gradient in ODT+TD3 moves the action to the optimum. Pass: ODT+TD3 reaches an evaluation reward >= 0.9 on every
seed (best of the evaluations after each online iteration), and ODT's mean final reward stays below 0.1.

Each run is ``examples/odt_td3/main.py --env bandit-motivation-v0`` (its bandit defaults: K=1, eval/online RTG 1,
64 one-step episodes per online iteration, critic layer norm, gamma 0.99) in its own process, with the settings in
``SETTINGS`` (the small model of ``--quick``, a short schedule, and a learning rate of 1e-3 instead of 1e-4 so that it
ends within about a thousand gradient steps). The methods differ only by the original's flags.

    python -m rlkit.data build bandit-motivation-v0 --skip-existing
    OMP_NUM_THREADS=1 python benchmarks/odt_td3_bandit.py --seeds 0 1 2 --jobs 2
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from odt_td3_results import METHODS, RESULTS, aggregate, plot_env, run_all, run_argv  # noqa: E402

ENV = "bandit-motivation-v0"
SETTINGS = ["--quick", "--max_pretrain_iters", "1", "--num_updates_per_pretrain_iter", "300",
            "--max_online_iters", "10", "--num_updates_per_online_iter", "100", "--eval_interval", "1",
            "--warmup_steps", "100", "--learning_rate", "0.001"]
"""Shared by both methods: embed 128, 2 layers, batch 128; 300 pretraining updates, then 10 online iterations of
64 episodes and 100 updates, evaluated after each; LAMB lr 1e-3 with a 100-step warmup."""
PASS_REWARD, ODT_CEILING = 0.9, 0.1


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| method | seeds | reward after pretraining | final reward (mean ± std) | final per seed | "
             "best evaluation | online steps | wall s / run |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {len(r['seeds'])} | {r['pretrained']} | {r['final']} | {r['per_seed']} | "
                     f"{r['best']} | {r['env_steps']} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


def verdict(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether ODT+TD3 reached PASS_REWARD on every seed and ODT's mean final reward stayed below ODT_CEILING."""
    best = [r["best_score"] for r in records if r["method"] == "odt+td3"]
    odt = [r["final_score"] for r in records if r["method"] == "odt"]
    odt_td3_ok, odt_ok = bool(best) and min(best) >= PASS_REWARD, bool(odt) and float(np.mean(odt)) < ODT_CEILING
    return {"odt_td3_min_best": min(best) if best else None, "odt_mean_final": float(np.mean(odt)) if odt else None,
            "odt_td3_reaches": odt_td3_ok, "odt_stays_low": odt_ok, "pass": odt_td3_ok and odt_ok}


def _verdict_line(check: dict[str, Any]) -> str:
    return (f"ODT+TD3 reaches {check['odt_td3_min_best']:.3f} on its worst seed (>= {PASS_REWARD}: "
            f"{'yes' if check['odt_td3_reaches'] else 'no'}); ODT's mean final reward {check['odt_mean_final']:.3f} "
            f"(< {ODT_CEILING}: {'yes' if check['odt_stays_low'] else 'no'})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs-root", type=Path, default=RESULTS / "odt_td3_runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "odt_td3_bandit.json")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    jobs = [{"env": ENV, "method": method, "seed": seed, "run_dir": str(args.runs_root / ENV / method / f"s{seed}"),
             "argv": run_argv(ENV, method, seed, args.runs_root / ENV / method / f"s{seed}", SETTINGS)}
            for seed in args.seeds for method in ("odt", "odt+td3")]
    started = time.perf_counter()
    records = run_all(jobs, args.jobs)
    rows = aggregate(records, digits=2)
    table = markdown_table(rows)
    check = verdict(records)
    print(table)
    print(_verdict_line(check))
    command = "OMP_NUM_THREADS=1 python benchmarks/odt_td3_bandit.py " + shlex.join(argv if argv is not None
                                                                                     else sys.argv[1:])
    png = plot_env(records, ENV, args.out.with_suffix(".png"))
    result = {
        "benchmark": "odt_td3_bandit",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command, "invocation_wall_s": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "settings": SETTINGS, "methods": {METHODS[m][0]: METHODS[m][1] for m in ("odt", "odt+td3")},
        "verdict": check, "table": rows, "figure": str(png), "runs": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    args.out.with_suffix(".md").write_text(f"Command: `{command}`\n\nShared settings: `{shlex.join(SETTINGS)}`\n\n"
                                           f"{table}\n\n{_verdict_line(check)}\n")
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {png}")
    return result


if __name__ == "__main__":
    main()
