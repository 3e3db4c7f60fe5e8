"""ODT, TD3 and ODT+TD3 on the same datasets, seeds and online budget: final normalised scores and learning curves.

Each run is ``examples/odt_td3/main.py``'s ``main()`` in a fresh process (one run per process, ``--jobs`` at a time),
with the method chosen by the original's flags:

- ODT: ``--actor_rl_coeff 0 --stoc 1 --use_entropy_reg 1``
- TD3: ``--actor_sup_coeff 0`` (pretraining stays supervised, as in the original)
- ODT+TD3: ``--actor_rl_coeff 0.1 --actor_sup_coeff 1 --stoc 0 --use_entropy_reg 0``

Everything else (model size, pretraining, online iterations, steps per iteration) is the same for the three methods:
the family defaults of the example, ``--quick`` and ``--main-args``. Outputs: per run ``metrics.csv``,
``config.json``, ``summary.json`` and ``log.txt`` under ``--runs-root/<env>/<method>/s<seed>`` (checkpoints are
deleted once the run has finished); ``odt_td3_results.json`` (every run's final score and evaluation curve, merged
with the runs already in the file), ``odt_td3_results.md`` (mean ± std over seeds) and one PNG of learning curves
(mean ± std across seeds per method) per dataset.

    OMP_NUM_THREADS=1 python benchmarks/odt_td3_results.py --envs maze2d-umaze-v1 --seeds 0 1 2 --quick --jobs 2

A run whose ``summary.json`` exists is not run again (its summary is read); an interrupted run resumes from its
latest checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MAIN = ROOT / "examples" / "odt_td3" / "main.py"
METHODS: dict[str, tuple[str, list[str]]] = {
    "odt": ("ODT", ["--actor_rl_coeff", "0", "--stoc", "1", "--use_entropy_reg", "1"]),
    "td3": ("TD3", ["--actor_sup_coeff", "0"]),
    "odt+td3": ("ODT+TD3", ["--actor_rl_coeff", "0.1", "--actor_sup_coeff", "1", "--stoc", "0",
                            "--use_entropy_reg", "0"]),
    # the ODT of the original's motivation experiment (motivation.py): a deterministic DT trained by supervision only
    "odt-det": ("ODT (deterministic)", ["--actor_rl_coeff", "0", "--stoc", "0", "--use_entropy_reg", "0"]),
    # motivation.py's ODT+DDPG actor loss: 0.02 * MSE - Q (the critic's term dominates)
    "odt+td3-rl": ("ODT+TD3 (sup 0.02, rl 1)", ["--actor_rl_coeff", "1", "--actor_sup_coeff", "0.02", "--stoc", "0",
                                               "--use_entropy_reg", "0"]),
}
MAIN_METHODS = ("odt", "td3", "odt+td3")
"""The methods of the issue's comparison (the original's README flags); the other two are the bandit's."""
CURVE_KEYS = ("step", "phase", "env_steps", "eval/normalized_score", "eval/return_mean", "eval/success_rate",
              "online/return_mean", "train/loss_sup", "train/loss_rl", "train/loss_critic", "train/q1_mean",
              "train/target_mean", "time/total_s")


# -- one run ---------------------------------------------------------------------------------------------------------
def run_argv(env: str, method: str, seed: int, run_dir: Path, common: Sequence[str]) -> list[str]:
    """The command line of one run: dataset, seed, run dir, the shared settings, then the method's flags (last, so a
    shared setting cannot change which method runs)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(METHODS)}")
    return ["--env", env, "--seed", str(seed), "--run-dir", str(run_dir), "--progress", "0", *common,
            *METHODS[method][1]]


def _load_main() -> Callable[[list[str]], dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("odt_td3_main", MAIN)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {MAIN}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def score_key(columns: dict[str, np.ndarray]) -> str:
    """D4RL's normalised score where the dataset has reference scores, else the raw evaluation return."""
    return "eval/normalized_score" if "eval/normalized_score" in columns else "eval/return_mean"


def summarise(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    """Final and post-pretraining scores, and the curves (finite entries only) of one run's metrics."""
    key = score_key(columns)
    evaluated = np.isfinite(columns[key])
    if not evaluated.any():
        raise ValueError(f"the run logged no finite {key!r}; nothing to report")
    pretrained = evaluated & (columns["phase"] == 0)
    curves = {k: [None if not math.isfinite(v) else round(float(v), 6) for v in columns[k]]
              for k in CURVE_KEYS if k in columns}
    return {
        "score_key": key,
        "final_score": float(columns[key][evaluated][-1]),
        "best_score": float(columns[key][evaluated].max()),
        "pretrained_score": float(columns[key][pretrained][-1]) if pretrained.any() else None,
        "final_return": float(columns["eval/return_mean"][evaluated][-1]),
        "env_steps": int(np.nanmax(columns["env_steps"])),
        "curves": curves,
    }


def execute(job: dict[str, Any]) -> dict[str, Any]:
    """Run one experiment (in a worker process) and return its record; reuse a finished run's summary."""
    run_dir = Path(job["run_dir"])
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        return json.loads(summary_path.read_text())
    import torch

    torch.set_num_threads(1)
    argv = list(job["argv"])
    if (run_dir / "metrics.csv").exists():
        argv.append("--resume")  # an interrupted run: continue from its latest checkpoint
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (run_dir / "log.txt").open("a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        result = _load_main()(argv)
    record = {key: job[key] for key in ("env", "method", "seed")} | {
        "argv": argv, "wall_s": round(time.perf_counter() - started, 1)} | summarise(result["metrics"])
    summary_path.write_text(json.dumps(record))
    if not job.get("keep_checkpoints"):
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return record


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Each job in its own spawned process (fresh interpreter, one thread), ``workers`` at a time."""
    os.environ["OMP_NUM_THREADS"] = "1"
    records = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        futures = [(job, pool.submit(execute, job)) for job in jobs]
        for job, future in futures:
            record = future.result()
            records.append(record)
            print(f"{job['env']:24s} {METHODS[job['method']][0]:8s} seed {job['seed']}: "
                  f"{record['score_key']} {record['final_score']:.2f} (after pretraining "
                  f"{_fmt(record['pretrained_score'])}), {record['wall_s']:.0f} s", flush=True)
    return records


# -- tables and figures ----------------------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _mean_std(values: Sequence[float | None], digits: int) -> str:
    kept = [v for v in values if v is not None]
    return "-" if not kept else f"{np.mean(kept):.{digits}f} ± {np.std(kept):.{digits}f}"


def aggregate(records: list[dict[str, Any]], digits: int = 1) -> list[dict[str, Any]]:
    """One row per (dataset, method): mean ± std (population) over seeds of the final, best and pretrained scores,
    formatted with ``digits`` decimals."""
    rows = []
    for env in sorted({r["env"] for r in records}):
        for method in METHODS:
            group = sorted((r for r in records if r["env"] == env and r["method"] == method), key=lambda r: r["seed"])
            if not group:
                continue
            finals = [r["final_score"] for r in group]
            rows.append({
                "env": env, "method": METHODS[method][0], "seeds": [r["seed"] for r in group],
                "score_key": group[0]["score_key"], "final_mean": float(np.mean(finals)),
                "final_std": float(np.std(finals)), "final": _mean_std(finals, digits),
                "best": _mean_std([r["best_score"] for r in group], digits),
                "pretrained": _mean_std([r["pretrained_score"] for r in group], digits),
                "per_seed": " / ".join(f"{v:.{digits}f}" for v in finals),
                "env_steps": int(np.mean([r["env_steps"] for r in group])),
                "wall_s": float(np.mean([r["wall_s"] for r in group])),
            })
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| dataset | method | seeds | after pretraining | final (mean ± std) | per seed | online env steps | "
             "wall s / run |", "|---|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['env']} | {r['method']} | {len(r['seeds'])} | {r['pretrained']} | {r['final']} | "
                     f"{r['per_seed']} | {r['env_steps']} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


def plot_env(records: list[dict[str, Any]], env: str, out_png: Path) -> Path:
    """Evaluation score and online return against the iteration, mean ± std across seeds per method."""
    from rlkit.trainers import plot_seeds

    groups: dict[str, list[dict[str, list[float]]]] = {}
    for method, (label, _) in METHODS.items():
        runs = [r for r in records if r["env"] == env and r["method"] == method]
        if runs:
            groups[label] = [{k: [math.nan if v is None else v for v in vals] for k, vals in r["curves"].items()}
                             for r in runs]
    key = next(r["score_key"] for r in records if r["env"] == env)
    keys = [key] + [k for k in ("online/return_mean",)
                    if all(k in run for runs in groups.values() for run in runs)]
    return plot_seeds(groups, keys, out_png, x="step",
                      title=f"{env}: mean ± std over seeds (x: iteration; pretraining first)")


# -- command line ----------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["maze2d-umaze-v1", "halfcheetah-random-v2"],
                        help="datasets (built locally first: python -m rlkit.data build NAME)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(MAIN_METHODS), choices=list(METHODS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one process each")
    parser.add_argument("--quick", action="store_true", help="pass --quick (small model, short schedule) to every run")
    parser.add_argument("--budget", type=int, default=None,
                        help="online iterations of every run (--max_online_iters); the family default otherwise")
    parser.add_argument("--main-args", default="",
                        help="more flags for every run of main.py, one string, e.g. "
                             "'--num_updates_per_pretrain_iter 2000 --minimum_sapairs_per_iter 1000'")
    parser.add_argument("--runs-root", type=Path, default=RESULTS / "odt_td3_runs")
    parser.add_argument("--keep-checkpoints", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "odt_td3_results.json",
                        help="JSON (merged with the runs already there); the .md table and PNGs go beside it")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.budget is not None and args.budget < 0:
        parser.error(f"--budget must be >= 0, got {args.budget}")
    return args


def common_flags(args: argparse.Namespace) -> list[str]:
    flags = (["--quick"] if args.quick else []) + shlex.split(args.main_args)
    return flags + (["--max_online_iters", str(args.budget)] if args.budget is not None else [])


def merge(path: Path, records: list[dict[str, Any]], command: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The runs already in ``path`` with this invocation's runs replacing those of the same (env, method, seed), and
    the commands that produced them."""
    old = json.loads(path.read_text()) if path.exists() else {"runs": [], "commands": []}
    fresh = {(r["env"], r["method"], r["seed"]) for r in records}
    runs = [r for r in old["runs"] if (r["env"], r["method"], r["seed"]) not in fresh] + records
    commands = [c for c in old.get("commands", []) if c != command] + [command]
    return runs, commands


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if not MAIN.exists():
        raise FileNotFoundError(f"{MAIN} is missing; this benchmark runs the example's main()")
    common = common_flags(args)
    jobs = [{"env": env, "method": method, "seed": seed, "keep_checkpoints": args.keep_checkpoints,
             "run_dir": str(args.runs_root / env / method / f"s{seed}"),
             "argv": run_argv(env, method, seed, args.runs_root / env / method / f"s{seed}", common)}
            for env in args.envs for seed in args.seeds for method in args.methods]
    command = "OMP_NUM_THREADS=1 python benchmarks/odt_td3_results.py " + shlex.join(argv if argv is not None
                                                                                      else sys.argv[1:])
    started = time.perf_counter()
    records, commands = merge(args.out, run_all(jobs, args.jobs), command)
    rows = aggregate(records)
    table = markdown_table(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pngs = [str(plot_env(records, env, args.out.with_name(f"{args.out.stem}_{env}.png")))
            for env in sorted({r["env"] for r in records})]
    result = {
        "benchmark": "odt_td3_results",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commands": commands,
        "invocation_wall_s": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        "note": "CPU shared with other jobs; wall times are indicative",
        "methods": {label: flags for label, flags in METHODS.values()},
        "table": rows, "figures": pngs, "runs": records,
    }
    args.out.write_text(json.dumps(result, indent=1))
    listed = "\n".join(f"    {c}" for c in commands)
    args.out.with_suffix(".md").write_text(f"Commands (each run's flags are in the JSON):\n\n{listed}\n\n{table}\n")
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {', '.join(pngs)}")
    return result


if __name__ == "__main__":
    main()
