"""Prioritized sampling throughput: rlkit's torch ``PrioritizedSampler`` against the alternatives that run here.

Per variant, on ``--capacity`` items (1M by default) that all hold a priority, with batches of 256:
  * sample: draw 256 indices with P(i) ~ (p_i + eps)^alpha and their importance weights (what a replay buffer asks
    its sampler for; the storage read that follows is the same for every sampler and is not timed);
  * update: set 256 new priorities at random indices (duplicates included), as after a loss.

A training step does one of each, so the "sample+update" column is the figure that matters; the naive baseline
updates faster (one index write) but pays O(capacity) on every sample.

Variants:
  * rlkit PrioritizedSampler (default ``branching=16``: 5 tree levels for 1M items) and with ``branching=2`` (the
    classic binary tree, 20 levels), both float64;
  * naive torch: one tensor of transformed priorities, ``torch.multinomial`` over all of it per batch and a full
    ``min`` for the weights (O(capacity) per sample, O(batch) per update) -- the strongest tree-free alternative;
  * TorchRL's ``PrioritizedSampler`` (C++ segment trees): tried, and reported as unavailable when its extension
    does not load (it does not with torch 2.13 here).

Timing: warm-up calls, then ``--iters`` calls in 5 rounds; the median round gives the time per batch. One thread
by default (the machines this runs on are shared).

    OMP_NUM_THREADS=1 python benchmarks/prioritized_sampling.py --capacity 1000000 --iters 200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch

BATCH = 256
ROUNDS = 5
ALPHA, BETA, EPS = 0.6, 0.4, 1e-6


class NaiveMultinomial:
    """Tree-free baseline: transformed priorities in one tensor, torch.multinomial over all of them per batch."""

    def __init__(self, capacity: int, generator: torch.Generator):
        self.weights = torch.zeros(capacity, dtype=torch.float64)
        self.generator = generator

    def update_priority(self, index: torch.Tensor, priority: torch.Tensor) -> None:
        self.weights[index] = (priority.double() + EPS) ** ALPHA

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.multinomial(self.weights, batch, replacement=True, generator=self.generator)
        weight = (self.weights[index] / self.weights.min()).pow(-BETA).float()
        return index, weight


def make_variant(name: str, capacity: int, seed: int) -> tuple[Callable[[], object], Callable[[], object], int]:
    """(sample_fn, update_fn, bytes of sampler state) for the named variant, with every item holding a priority."""
    from tensordict import TensorDict
    from torchrl.data import LazyTensorStorage

    from rlkit.data.prioritized import PrioritizedSampler

    gen = torch.Generator().manual_seed(seed)
    initial = torch.rand(capacity, generator=gen, dtype=torch.float64) + 0.01
    update_gen = torch.Generator().manual_seed(seed + 1)

    def next_update() -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(0, capacity, (BATCH,), generator=update_gen)
        return index, torch.rand(BATCH, generator=update_gen, dtype=torch.float64)

    if name == "naive torch.multinomial":
        naive = NaiveMultinomial(capacity, gen)
        naive.update_priority(torch.arange(capacity), initial)
        return (lambda: naive.sample(BATCH)), (lambda: naive.update_priority(*next_update())), capacity * 8
    if name.startswith("rlkit PrioritizedSampler"):
        branching = 2 if "branching=2" in name else 16
        storage = LazyTensorStorage(capacity)
        storage.set(torch.arange(capacity), TensorDict({"obs": torch.zeros(capacity)}, [capacity]))
        sampler = PrioritizedSampler(capacity, ALPHA, BETA, eps=EPS, branching=branching)
        sampler._rng = gen  # what ReplayBuffer(generator=...) does
        sampler.update_priority(torch.arange(capacity), initial, storage=storage)
        tree = sampler.tree
        state_bytes = (tree._sum.numel() + tree._min.numel() + sampler._raw.numel()) * 8
        return (
            (lambda: sampler.sample(storage, BATCH)),
            (lambda: sampler.update_priority(*next_update(), storage=storage)),
            state_bytes,
        )
    raise ValueError(f"unknown variant {name!r}")


def torchrl_cpp_status(capacity: int) -> str:
    """Try TorchRL's C++-backed sampler; return 'available' or why it is not."""
    import logging

    from torchrl.data.replay_buffers.samplers import PrioritizedSampler as TorchRLPrioritizedSampler

    logging.getLogger("torchrl").setLevel(logging.ERROR)  # its extension warning is long; we report it ourselves
    try:
        TorchRLPrioritizedSampler(capacity, ALPHA, BETA)
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot be benchmarked here"
        reason = str(exc).replace("See warning above.", "").strip().rstrip(".")
        return f"unavailable ({type(exc).__name__}: {reason}; TorchRL's C++ extension did not load)"
    return "available"


def time_per_call(fn: Callable[[], object], iters: int) -> tuple[float, list[float]]:
    for _ in range(max(5, iters // 10)):
        fn()
    per_round = max(1, iters // ROUNDS)
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            fn()
        rounds.append((time.perf_counter() - start) / per_round)
    return statistics.median(rounds), rounds


VARIANTS = ("rlkit PrioritizedSampler", "rlkit PrioritizedSampler (branching=2)", "naive torch.multinomial")


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    results = []
    for name in VARIANTS:
        sample, update, state_bytes = make_variant(name, args.capacity, args.seed)
        sample_s, sample_rounds = time_per_call(sample, args.iters)
        update_s, update_rounds = time_per_call(update, args.iters)
        results.append(
            {
                "variant": name,
                "sample_ms_per_batch": sample_s * 1e3,
                "sample_batches_per_s": 1 / sample_s,
                "samples_per_s": BATCH / sample_s,
                "update_ms_per_batch": update_s * 1e3,
                "update_batches_per_s": 1 / update_s,
                "priority_updates_per_s": BATCH / update_s,
                "step_ms": (sample_s + update_s) * 1e3,
                "state_mb": state_bytes / 2**20,
                "sample_ms_rounds": [t * 1e3 for t in sample_rounds],
                "update_ms_rounds": [t * 1e3 for t in update_rounds],
            }
        )
        print(f"  {name}: sample {sample_s * 1e3:.3f} ms, update {update_s * 1e3:.3f} ms", file=sys.stderr)
    naive = next(r for r in results if r["variant"].startswith("naive"))
    for row in results:
        row["sample_speedup_vs_naive"] = naive["sample_ms_per_batch"] / row["sample_ms_per_batch"]
        row["update_speedup_vs_naive"] = naive["update_ms_per_batch"] / row["update_ms_per_batch"]
        row["step_speedup_vs_naive"] = naive["step_ms"] / row["step_ms"]
    return {
        "benchmark": "prioritized_sampling",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "config": {
            "capacity": args.capacity,
            "batch_size": BATCH,
            "alpha": ALPHA,
            "beta": BETA,
            "eps": EPS,
            "iters": args.iters,
            "rounds": ROUNDS,
            "threads": args.threads,
            "seed": args.seed,
        },
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchrl": _version("torchrl"),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "torchrl_cpp_prioritized_sampler": torchrl_cpp_status(min(args.capacity, 1024)),
        "results": results,
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def markdown_table(report: dict) -> str:
    lines = [
        "| sampler | sample ms/batch | samples/s | update ms/batch | priority updates/s | sample+update ms "
        "| sample x naive | update x naive | sample+update x naive | state MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['variant']} | {r['sample_ms_per_batch']:.3f} | {r['samples_per_s']:,.0f} | "
            f"{r['update_ms_per_batch']:.3f} | {r['priority_updates_per_s']:,.0f} | {r['step_ms']:.3f} | "
            f"{r['sample_speedup_vs_naive']:.1f} | {r['update_speedup_vs_naive']:.2f} | "
            f"{r['step_speedup_vs_naive']:.1f} | {r['state_mb']:.1f} |"
        )
    lines.append(f"| torchrl PrioritizedSampler (C++) | {report['torchrl_cpp_prioritized_sampler']} |||||||||")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=1_000_000, help="items holding a priority")
    parser.add_argument("--iters", type=int, default=200, help="timed calls per operation (in 5 rounds)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "prioritized_sampling.json",
        help="where the JSON report goes",
    )
    args = parser.parse_args(argv)
    if args.capacity < BATCH or args.iters < 1 or args.threads < 1:
        parser.error(f"need --capacity >= {BATCH}, --iters >= 1, --threads >= 1")
    report = run(args)
    table = markdown_table(report)
    report["table"] = table
    print(
        f"Prioritized sampling, capacity {args.capacity:,}, batch {BATCH}, {args.threads} thread(s), "
        f"torch {report['environment']['torch']}"
    )
    print(table)
    print(f"TorchRL's C++ PrioritizedSampler: {report['torchrl_cpp_prioritized_sampler']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".json.partial")
    partial.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(partial, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
