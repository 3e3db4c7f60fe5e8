"""Sampling throughput and memory: rlkit's samplers against TorchRL's own on one synthetic dataset.

(a) batches of 256 transitions: rlkit ``TransitionSampler`` vs TorchRL ``RandomSampler``, both in a ``ReplayBuffer``;
(b) 256 windows of K=20 steps: rlkit ``WindowSampler`` (in ``WindowReplayBuffer``, and the direct ``sample_windows``
path) vs TorchRL ``SliceSampler(slice_len=20, traj_key="episode")``, by default and with ``cache_values=True``.

The dataset is rlkit's layout from ``transitions_from_arrays``: obs 17 float32, action 6, episodes of 1000 steps
ended by timeouts, no stored next_observations (s' is a view one row ahead, as for maze files). All samplers read the
same ``TensorStorage`` wrapping it (no copy).

Each variant runs in a fresh subprocess so its memory is its own: RSS is read after imports (baseline), the kernel's
peak-RSS mark is reset once the dataset is built and the build's freed buffers are returned to the OS
(``malloc_trim``, ``/proc/self/clear_refs``), and the peak over sampler setup and all sampling is reported above the
baseline, i.e. dataset + sampler state + sampling buffers, against the dataset's raw bytes (each tensor storage
counted once). Timing: warm-up calls, then ``--iters`` calls in 5 rounds; the median round gives the time per batch
(the JSON also keeps every round and the best).

    OMP_NUM_THREADS=1 python benchmarks/data_sampling.py --transitions 1000000 --iters 200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from memory_probes import peak_rss_bytes, release_freed_memory, reset_peak_rss, rss_bytes

BATCH = 256
WINDOW = 20
OBS_DIM, ACT_DIM = 17, 6
ROUNDS = 5

# name -> (group, what one sample is); the first variant of each group is the TorchRL baseline
VARIANTS = {
    "torchrl RandomSampler": ("transitions", "transition"),
    "rlkit TransitionSampler": ("transitions", "transition"),
    "torchrl SliceSampler": ("windows", "window"),
    "torchrl SliceSampler(cache_values=True)": ("windows", "window"),
    "rlkit WindowSampler + WindowReplayBuffer": ("windows", "window"),
    "rlkit sample_windows (direct)": ("windows", "window"),
}


def make_dataset(transitions: int, episode_len: int, seed: int = 0):
    """rlkit-layout TensorDict built in place (no transient copies, so the memory figure is the data's)."""
    import torch

    from rlkit.data.layout import transitions_from_arrays

    gen = torch.Generator().manual_seed(seed)
    obs_buffer = torch.randn(transitions + 1, OBS_DIM, generator=gen)
    actions = torch.rand(transitions, ACT_DIM, generator=gen) * 2 - 1
    rewards = torch.randn(transitions, generator=gen)
    terminals = torch.zeros(transitions, dtype=torch.bool)
    timeouts = torch.zeros(transitions, dtype=torch.bool)
    timeouts[episode_len - 1 :: episode_len] = True
    observations = obs_buffer[:transitions]
    return transitions_from_arrays(
        observations, actions, rewards, terminals, timeouts, source="synthetic", observation_buffer=obs_buffer
    )


def raw_bytes(data) -> int:
    """Bytes of the tensors' memory, each storage once (the next observations are a view of the observations)."""
    seen = {}
    for leaf in data.values(include_nested=True, leaves_only=True):
        storage = leaf.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


def make_sampler(name: str, data) -> Callable[[], object]:
    """A zero-argument function that draws one batch with the named variant."""
    import torch
    from torchrl.data import RandomSampler, ReplayBuffer, SliceSampler, TensorStorage

    from rlkit.data.samplers import (
        TransitionSampler,
        WindowReplayBuffer,
        WindowSampler,
        episode_table_of,
        sample_windows,
    )

    gen = torch.Generator().manual_seed(0)
    storage = TensorStorage(data)
    if name == "torchrl RandomSampler":
        return ReplayBuffer(storage=storage, sampler=RandomSampler(), batch_size=BATCH, generator=gen).sample
    if name == "rlkit TransitionSampler":
        return ReplayBuffer(storage=storage, sampler=TransitionSampler(), batch_size=BATCH, generator=gen).sample
    if name.startswith("torchrl SliceSampler"):
        sampler = SliceSampler(slice_len=WINDOW, traj_key="episode", cache_values="cache_values" in name)
        return ReplayBuffer(storage=storage, sampler=sampler, batch_size=BATCH * WINDOW, generator=gen).sample
    if name == "rlkit WindowSampler + WindowReplayBuffer":
        sampler = WindowSampler(WINDOW)
        return WindowReplayBuffer(storage=storage, sampler=sampler, batch_size=BATCH, generator=gen).sample
    if name == "rlkit sample_windows (direct)":
        table = episode_table_of(data, source="synthetic")
        return lambda: sample_windows(data, table, BATCH, WINDOW, generator=gen)
    raise ValueError(f"unknown variant {name!r}; expected one of {list(VARIANTS)}")


def run_variant(name: str, args: argparse.Namespace) -> dict:
    import torch
    import torchrl.data  # noqa: F401  (imported before the baseline: the RSS delta is data and sampling only)

    import rlkit.data.layout  # noqa: F401
    import rlkit.data.samplers  # noqa: F401

    torch.set_num_threads(args.threads)
    baseline = rss_bytes()
    data = make_dataset(args.transitions, args.episode_len)
    build_peak = peak_rss_bytes()
    release_freed_memory()
    peak_is_post_build = reset_peak_rss()
    draw = make_sampler(name, data)
    for _ in range(max(20, args.iters // 5)):
        draw()
    per_round = max(1, args.iters // ROUNDS)
    round_times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            draw()
        round_times.append((time.perf_counter() - start) / per_round)
    batch_s = statistics.median(round_times)
    peak = peak_rss_bytes()
    raw = raw_bytes(data)
    group, unit = VARIANTS[name]
    return {
        "variant": name,
        "group": group,
        "sample_unit": unit,
        "batch_size": BATCH,
        "window": WINDOW if group == "windows" else 1,
        "ms_per_batch": batch_s * 1e3,
        "ms_per_batch_best_round": min(round_times) * 1e3,
        "ms_per_batch_rounds": [t * 1e3 for t in round_times],
        "batches_per_s": 1.0 / batch_s,
        "samples_per_s": BATCH / batch_s,
        "raw_mb": raw / 2**20,
        "peak_rss_above_baseline_mb": (peak - baseline) / 2**20,
        "memory_vs_raw": (peak - baseline) / raw,
        "build_peak_above_baseline_mb": (build_peak - baseline) / 2**20,
        "peak_excludes_build": peak_is_post_build,
    }


def run_all(args: argparse.Namespace) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    results = []
    for name in args.variants or list(VARIANTS):
        cmd = [sys.executable, __file__, "--worker", name, "--transitions", str(args.transitions)]
        cmd += ["--iters", str(args.iters), "--threads", str(args.threads), "--episode-len", str(args.episode_len)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"variant {name!r} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {name}: {results[-1]['ms_per_batch']:.3f} ms/batch", file=sys.stderr, flush=True)
    baselines = {}
    for row in results:
        baselines.setdefault(row["group"], row)  # the first row of a group is its TorchRL default
        row["speedup_vs_torchrl"] = baselines[row["group"]]["ms_per_batch"] / row["ms_per_batch"]
    return results


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| group | sampler | ms / batch | batches/s | samples/s | speedup vs TorchRL | peak RSS (MB) | peak / raw |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['group']} ({r['batch_size']} x {r['window']}) | {r['variant']} | {r['ms_per_batch']:.3f} "
            f"| {r['batches_per_s']:,.0f} | {r['samples_per_s']:,.0f} | {r['speedup_vs_torchrl']:.2f}x "
            f"| {r['peak_rss_above_baseline_mb']:.0f} | {r['memory_vs_raw']:.2f}x |"
        )
    raw = results[0]["raw_mb"]
    lines.append(f"\nRaw dataset bytes: {raw:.0f} MB. Speedups are against the first row of each group.")
    by_name = {r["variant"]: r for r in results}
    cached = by_name.get("torchrl SliceSampler(cache_values=True)")
    if cached:
        for name in ("rlkit WindowSampler + WindowReplayBuffer", "rlkit sample_windows (direct)"):
            if name in by_name:
                ratio = cached["ms_per_batch"] / by_name[name]["ms_per_batch"]
                lines.append(f"{name}: {ratio:.2f}x vs SliceSampler(cache_values=True).")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=1_000_000, help="rows in the synthetic dataset")
    parser.add_argument("--episode-len", type=int, default=1000, help="steps per episode")
    parser.add_argument("--iters", type=int, default=200, help="timed batches per variant (after warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (and OMP_NUM_THREADS) per variant")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/data_sampling.json"), help="JSON path")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="run only these variants")
    parser.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.transitions < args.episode_len or args.episode_len < WINDOW:
        parser.error(f"need --transitions >= --episode-len >= {WINDOW}")
    if args.iters < 1 or args.threads < 1:
        parser.error("--iters and --threads must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_variant(args.worker, args)))
        return
    import torch
    import torchrl

    results = run_all(args)
    print(markdown_table(results))
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "versions": {"torch": torch.__version__, "torchrl": torchrl.__version__},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "worker"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
