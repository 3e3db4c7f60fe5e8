"""The original's motivation experiment: a one-step bandit whose offline data never show the optimum.

``bandit-motivation-v0`` (``rlkit.envs.bandit``): observation the constant 1, action a in [-1, 1],
r(a) = (a + 1)^2 for a < 0 and 1 - 2a for a >= 0, so the best action is a = 0 (r = 1). Its 128 offline actions lie in
U(-1, -0.95) (r <= 0.0025) and U(0.5, 1) (r in [-1, 0]). A decision transformer asked for the return 1 can only
imitate actions it has seen; the critic's gradient in ODT+TD3 moves the action to the optimum.

Four protocols, each ODT against ODT+TD3 over the same seeds, each with its verdict line: on how many seeds ODT+TD3
reaches >= 0.9 (best evaluation), and whether ODT's mean final reward stays below 0.1. Pass: every seed and below.

- ``motivation``: as the original's ``motivation/motivation.py``, ODT is a *deterministic* DT trained by
  supervision alone, ODT+TD3's actor loss is 0.02 * MSE + 1 * (-Q) (that script's coefficients), and both explore
  online with its tiny noise (uniform +-0.01 there; Gaussian with the same std, 0.0058, here). The budget is that
  script's, about 340 gradient steps (100 pretraining, then 16 online iterations of 64 episodes and 15 updates).
- ``motivation-long``: the same methods with ``SETTINGS``' longer schedule (1,300 gradient steps): how a
  deterministic DT creeps upwards when finetuned for longer.
- ``motivation-noise0.1``: the motivation protocol with the exploration noise of the original's main code (0.1).
- ``main-flags``: the ODT of the original's main code (README flags: stochastic policy, entropy regularisation) and
  ODT+TD3 with the README's coefficients (1 * MSE + 0.1 * (-Q)), exploration noise 0.1 and the main code's
  layer-normed critic, on ``SETTINGS``' schedule. The entropy term keeps ODT exploring, and with hindsight
  relabelling it climbs slowly.

Each run is ``examples/odt_td3/main.py --env bandit-motivation-v0`` (its bandit defaults: K=1, eval/online RTG 1,
64 one-step episodes per online iteration, a plain MLP critic, gamma 0.99) in its own process, with the settings in
``SETTINGS`` (the small model of ``--quick``, a short schedule, and a learning rate of 1e-3 -- the original's
motivation learning rate -- so that it ends within about a thousand gradient steps).

    python -m rlkit.data build bandit-motivation-v0 --skip-existing
    OMP_NUM_THREADS=1 python benchmarks/odt_td3_bandit.py --protocols motivation --seeds 0 1 2 3 4 5 6 7 8 9
    OMP_NUM_THREADS=1 python benchmarks/odt_td3_bandit.py --protocols motivation-long motivation-noise0.1 main-flags \
        --out benchmarks/results/odt_td3_bandit_variants.json
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
ORIGINAL_BUDGET = ["--num_updates_per_pretrain_iter", "100", "--max_online_iters", "16",
                   "--num_updates_per_online_iter", "15"]
"""340 gradient steps in 16 online iterations, as motivation.py (5 + 16 epochs of a growing dataset, ~350 steps)."""
MOTIVATION_NOISE = 0.02 / 12 ** 0.5
"""Std of the original's exploration noise, 0.02 * (U(0, 1) - 0.5), given to a Gaussian."""
PROTOCOLS: dict[str, tuple[tuple[str, str], list[str]]] = {
    "motivation": (("odt-det", "odt+td3-rl"), ["--expl_noise", f"{MOTIVATION_NOISE:.4f}", *ORIGINAL_BUDGET]),
    "motivation-long": (("odt-det", "odt+td3-rl"), ["--expl_noise", f"{MOTIVATION_NOISE:.4f}"]),
    "motivation-noise0.1": (("odt-det", "odt+td3-rl"), ["--expl_noise", "0.1", *ORIGINAL_BUDGET]),
    # the main code's critic for its non-MuJoCo families has layer norm (the bandit's default follows motivation.py)
    "main-flags": (("odt", "odt+td3"), ["--override_layernorm", "1"]),
}
"""Protocol -> (its two methods, settings added to ``SETTINGS``)."""


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| protocol | method | seeds | reward after pretraining | final reward (mean ± std) | final per seed | "
             "best evaluation | online steps | wall s / run |", "|---|---|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        protocol = r["env"].split(" ")[-1].strip("()")
        lines.append(f"| {protocol} | {r['method']} | {len(r['seeds'])} | {r['pretrained']} | {r['final']} | "
                     f"{r['per_seed']} | {r['best']} | {r['env_steps']} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


def verdict(records: list[dict[str, Any]], odt_method: str = "odt-det",
            odt_td3_method: str = "odt+td3-rl") -> dict[str, Any]:
    """Whether ODT+TD3 reached PASS_REWARD on every seed and ODT's mean final reward stayed below ODT_CEILING."""
    best = [r["best_score"] for r in records if r["method"] == odt_td3_method]
    odt = [r["final_score"] for r in records if r["method"] == odt_method]
    odt_td3_ok, odt_ok = bool(best) and min(best) >= PASS_REWARD, bool(odt) and float(np.mean(odt)) < ODT_CEILING
    return {"odt_td3_min_best": min(best) if best else None, "odt_mean_final": float(np.mean(odt)) if odt else None,
            "odt_td3_seeds_reaching": sum(b >= PASS_REWARD for b in best), "odt_td3_seeds": len(best),
            "odt_td3_reaches": odt_td3_ok, "odt_stays_low": odt_ok, "pass": odt_td3_ok and odt_ok}


def _verdict_line(check: dict[str, Any]) -> str:
    return (f"ODT+TD3 reaches >= {PASS_REWARD} on {check['odt_td3_seeds_reaching']} of {check['odt_td3_seeds']} "
            f"seeds (worst seed's best {check['odt_td3_min_best']:.3f}; every seed: "
            f"{'yes' if check['odt_td3_reaches'] else 'no'}); ODT's mean final reward {check['odt_mean_final']:.3f} "
            f"(< {ODT_CEILING}: {'yes' if check['odt_stays_low'] else 'no'})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--protocols", nargs="+", choices=list(PROTOCOLS), default=list(PROTOCOLS),
                        help="subset of the protocols to run (default: all)")
    parser.add_argument("--runs-root", type=Path, default=RESULTS / "odt_td3_runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "odt_td3_bandit.json")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    chosen = {protocol: PROTOCOLS[protocol] for protocol in args.protocols}
    jobs = []
    for protocol, (methods, extra) in chosen.items():
        for seed in args.seeds:
            for method in methods:
                run_dir = args.runs_root / ENV / protocol / method / f"s{seed}"
                jobs.append({"env": ENV, "protocol": protocol, "method": method, "seed": seed, "run_dir": str(run_dir),
                             "argv": run_argv(ENV, method, seed, run_dir, [*SETTINGS, *extra])})
    started = time.perf_counter()
    records = run_all(jobs, args.jobs)
    for job, record in zip(jobs, records):  # the table and plot group rows by "env": make it name the protocol
        record["env"] = f"{ENV} ({job['protocol']})"
    rows = aggregate(records, digits=2)
    table = markdown_table(rows)
    checks = {protocol: verdict([r for r, job in zip(records, jobs) if job["protocol"] == protocol], *methods)
              for protocol, (methods, _) in chosen.items()}
    verdicts = "\n".join(f"- {protocol}: {_verdict_line(check)}" for protocol, check in checks.items())
    print(table)
    print(verdicts)
    command = "OMP_NUM_THREADS=1 python benchmarks/odt_td3_bandit.py " + shlex.join(argv if argv is not None
                                                                                     else sys.argv[1:])
    pngs = [str(plot_env(records, f"{ENV} ({protocol})", args.out.with_name(f"{args.out.stem}_{protocol}.png")))
            for protocol in chosen]
    result = {
        "benchmark": "odt_td3_bandit",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command, "invocation_wall_s": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "settings": SETTINGS,
        "protocols": {p: {"extra_settings": extra, "methods": {METHODS[m][0]: METHODS[m][1] for m in methods}}
                      for p, (methods, extra) in chosen.items()},
        "verdicts": checks, "table": rows, "figures": pngs, "runs": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    args.out.with_suffix(".md").write_text(f"Command: `{command}`\n\nShared settings: `{shlex.join(SETTINGS)}`\n\n"
                                           f"{table}\n\nPer protocol:\n{verdicts}\n")
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {', '.join(pngs)}")
    return result


if __name__ == "__main__":
    main()
