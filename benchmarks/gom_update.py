"""Seconds per GOM update (and per Bellman-target sampling) at the original's default config: eager vs compiled.

One update, as the original's jitted ``update``: one 50-step DDIM sample of psi(s') from the EMA outcome model,
the psi and readout-policy diffusion losses with one backward, gradients normalised to global norm 1, fused AdamW
(warmup-cosine lr, weight decay 1e-6), Adam on w, EMA of both networks (``rlkit.trainers.gom_trainer.GOMTrainer``).
Sizes: obs 29, act 8, phi 129 (random Fourier cumulants, 64 frequencies), denoisers 25.0M / 25.0M parameters,
batches of 2048 (the original's) and 256.

Variants (each in a fresh subprocess, so its memory is its own):

- ``update eager`` / ``update compiled``: ``GOMTrainer(compile=False/True)``; the compiled variant's first update
  pays the compilation (reported as ``first s``).
- ``sampling hoisted`` / ``sampling unhoisted``: the target sampling alone (``psi_ema.sample``), with the condition
  MLP and FiLM's condition part computed once (hoisted) or at every step (the original's way); ``compiled`` adds
  ``compile_sampler()``.
- ``... bf16-sampler``: the same with the target sampler under bf16 autocast (``GOMTrainer(sampler_bf16=True)``;
  an option that deviates from the original's float32, see docs/deviations_gom.md); the losses stay float32.

The JAX original's figures (jax 0.4.23 CPU, this kind of 2-core machine, from shared/reference/GOM.md): 71.9 s per
update at batch 2048, of which 60.3 s target sampling; 13.9 s at batch 256.

Memory: on CPU the peak RSS over the timed calls above the RSS just before them (after ``malloc_trim``), and the
resident RSS of models + optimiser state; on CUDA ``torch.cuda.max_memory_allocated``.

    OMP_NUM_THREADS=1 python benchmarks/gom_update.py --warmup 1 --iters 2     # tens of minutes on 2 CPU cores
    OMP_NUM_THREADS=1 python benchmarks/gom_update.py --quick                  # seconds: tiny sizes, smoke run
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
from datetime import datetime, timezone
from pathlib import Path

from memory_probes import peak_rss_bytes, release_freed_memory, reset_peak_rss, rss_bytes

OBS_DIM, ACT_DIM = 29, 8
JAX_SECONDS = {("update", 2048): 71.9, ("sampling", 2048): 60.3, ("update", 256): 13.9}
"""The JAX original's median seconds (GOM.md, measured on this kind of 2-core CPU machine)."""

VARIANTS = (
    "update eager@2048", "update compiled@2048",
    "sampling unhoisted@2048", "sampling hoisted@2048", "sampling hoisted compiled@2048",
    "update eager@256", "update compiled@256",
    "update eager bf16-sampler@2048", "update compiled bf16-sampler@2048", "sampling hoisted bf16-sampler@2048",
)
QUICK_VARIANTS = ("update eager@16", "sampling unhoisted@16", "sampling hoisted@16", "update eager bf16-sampler@16")
QUICK_EXTRA = ("update compiled@16",)
"""Smoke variants: the default ``--quick`` set runs in seconds; compiling (minutes on 2 cores) is opt-in."""


def parse_variant(variant: str) -> tuple[str, bool, bool, int]:
    """``"update compiled@2048"`` -> (kind, compiled, hoisted, batch); a ``bf16`` word is read by :func:`uses_bf16`."""
    name, batch = variant.split("@")
    words = name.split()
    return words[0], "compiled" in words, "unhoisted" not in words, int(batch)


def uses_bf16(variant: str) -> bool:
    """Whether ``variant`` runs the target sampler under bf16 autocast (``sampler_bf16``)."""
    return "bf16-sampler" in variant.split("@")[0].split()


def build(variant: str, args: argparse.Namespace):
    """The model and a zero-argument function doing one timed call of ``variant``."""
    import torch
    from tensordict import TensorDict

    from rlkit.agents.gom import GOM
    from rlkit.trainers.gom_trainer import GOMTrainer

    kind, compiled, hoisted, batch_size = parse_variant(variant)
    device = torch.device(args.device)
    torch.manual_seed(0)
    sizes = {"small": True} if args.quick else {}
    phi_dim = 17 if args.quick else 129
    low, high = -torch.ones(phi_dim), torch.ones(phi_dim)
    low[-1] = 0.0
    gom = GOM.from_dataset_stats(OBS_DIM, ACT_DIM, low, high, **sizes).to(device)
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(batch_size, OBS_DIM, generator=gen)
    next_obs = obs + 0.05 * torch.randn(batch_size, OBS_DIM, generator=gen)
    batch = TensorDict({
        "observation": obs, "action": torch.rand(batch_size, ACT_DIM, generator=gen) * 2 - 1,
        "phi": gom.features(obs.to(device)).cpu(), ("next", "phi"): gom.features(next_obs.to(device)).cpu(),
        ("next", "observation"): next_obs, ("next", "reward"): torch.rand(batch_size, 1, generator=gen),
        ("next", "terminated"): torch.zeros(batch_size, 1, dtype=torch.bool),
    }, batch_size=[batch_size]).to(device)  # dataset resident on the device, as a training loop would keep it
    steps = 2 if args.quick else 50
    if kind == "update":
        trainer = GOMTrainer(gom, compile=compiled, sampling_steps=steps, warmup_steps=1, total_steps=1000,
                             autocast_bf16=args.bf16, cuda_graphs=args.cuda_graphs, sampler_bf16=uses_bf16(variant))
        call = lambda: trainer.step(batch)
    else:
        if compiled:
            gom.psi_ema.compile_sampler()
        next_obs_device = batch["next", "observation"]
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(variant))

        def call():
            with autocast:
                return gom.psi_ema.sample(next_obs_device, 1, steps=steps, hoist=hoisted)
    return gom, call


def run_variant(variant: str, args: argparse.Namespace) -> dict:
    """Measure one variant in this process; returns the JSON-ready row."""
    import torch

    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    row: dict = {"variant": variant, "threads": args.threads, "loadavg_1min_start": os.getloadavg()[0]}
    rss_start = rss_bytes()
    gom, call = build(variant, args)
    warmup_times = []
    for _ in range(args.warmup):
        sync()
        start = time.perf_counter()
        call()
        sync()
        warmup_times.append(time.perf_counter() - start)
    release_freed_memory()
    resident = rss_bytes()
    peak_tracked = reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        sync()
        start = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - start)
    peak = peak_rss_bytes()
    row.update(
        status="ok", warmup_s=warmup_times, times_s=times, median_s=statistics.median(times), best_s=min(times),
        first_s=warmup_times[0] if warmup_times else None, loadavg_1min_end=os.getloadavg()[0],
        parameters=sum(p.numel() for p in gom.psi.parameters()) + sum(p.numel() for p in gom.policy.parameters()),
        resident_mib=(resident - rss_start) / 2**20,
        peak_mib=(peak - resident) / 2**20 if peak_tracked else None,
        cuda_max_allocated_mib=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
    )
    return row


def run_all(args: argparse.Namespace) -> list[dict]:
    results = []
    for variant in args.variants:
        print(f"[gom_update] {variant} ...", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--worker", variant, "--warmup", str(args.warmup), "--iters",
                   str(args.iters), "--threads", str(args.threads), "--device", args.device]
        command += ["--quick"] * args.quick + ["--bf16"] * args.bf16 + ["--cuda-graphs"] * args.cuda_graphs
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"variant {variant!r} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"[gom_update]   median {row['median_s']:.3f} s, first {row['first_s']:.1f} s", file=sys.stderr)
        results.append(row)
    return results


def markdown_table(results: list[dict], quick: bool) -> str:
    lines = ["| variant | batch | s / call (median) | best s | first call s | JAX original s | speedup vs JAX | "
             "peak MiB / call | resident MiB | load avg |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        kind, _, _, batch = parse_variant(r["variant"])
        jax = None if quick else JAX_SECONDS.get((kind, batch))
        jax_cell, speedup = (f"{jax:.1f}", f"{jax / r['median_s']:.2f}x") if jax else ("-", "-")
        peak = r["cuda_max_allocated_mib"] if r["cuda_max_allocated_mib"] is not None else r["peak_mib"]
        peak_cell = f"{peak:.0f}" if peak is not None else "n/a"
        lines.append(f"| {r['variant'].split('@')[0]} | {batch} | {r['median_s']:.3f} | {r['best_s']:.3f} | "
                     f"{r['first_s']:.1f} | {jax_cell} | {speedup} | {peak_cell} | {r['resident_mib']:.0f} | "
                     f"{r['loadavg_1min_start']:.1f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (compilation happens here)")
    parser.add_argument("--iters", type=int, default=2, help="timed calls per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bf16 / CUDA graphs only apply on cuda)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in the update (CUDA only)")
    parser.add_argument("--cuda-graphs", action="store_true", help="compile with mode='reduce-overhead' (CUDA only)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, batch 16, 2 DDIM steps: a smoke run")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS + QUICK_VARIANTS + QUICK_EXTRA,
                        help="subset to run")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON path (default benchmarks/results/gom_update.json, or /tmp/... with --quick)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of other variants already in --out (re-measure a subset)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup < 1 or args.iters < 1 or args.threads < 1:
        parser.error("--warmup, --iters and --threads must be >= 1")
    if args.variants is None:
        args.variants = list(QUICK_VARIANTS if args.quick else VARIANTS)
    if args.out is None:
        args.out = Path("/tmp/gom_update_quick.json" if args.quick else "benchmarks/results/gom_update.json")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_variant(args.worker, args)))
        return
    import torch

    results = run_all(args)
    if args.merge and args.out.exists():
        measured = {r["variant"] for r in results}
        kept = [r for r in json.loads(args.out.read_text())["results"] if r["variant"] not in measured]
        order = {v: i for i, v in enumerate(VARIANTS + QUICK_VARIANTS + QUICK_EXTRA)}
        results = sorted(kept + results, key=lambda r: order.get(r["variant"], len(order)))
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "device": args.device},
        "versions": {"torch": torch.__version__},
        "config": {"obs_dim": OBS_DIM, "act_dim": ACT_DIM, "phi_dim": 17 if args.quick else 129,
                   "ddim_steps": 2 if args.quick else 50, "warmup": args.warmup, "iters": args.iters,
                   "threads": args.threads, "quick": args.quick, "bf16": args.bf16, "cuda_graphs": args.cuda_graphs},
        "jax_original_seconds": {f"{k}@{b}": v for (k, b), v in JAX_SECONDS.items()},
        "memory": "CPU: peak_mib = VmHWM over the timed calls minus RSS before them (after malloc_trim); "
                  "resident_mib = RSS after warm-up minus RSS before building; CUDA: max_memory_allocated",
    }
    write_results(args.out, meta, results, args.quick)


def write_results(out: Path, meta: dict, results: list[dict], quick: bool) -> None:
    """Print the table; write the JSON and a markdown page beside it."""
    table = markdown_table(results, quick)
    print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        f"# GOM update benchmark\n\n`{meta['command']}` ({meta['date']}, {meta['machine']['cpus']} CPUs, "
        f"torch {meta['versions']['torch']}, {meta['config']['threads']} torch thread(s))\n\n{table}\n\n"
        "`load avg` is the machine's 1-minute load average when the variant started: these figures were taken on a "
        "2-core machine shared with other jobs, so they are slower and noisier than on an idle one. The JAX figures "
        "are the original's, measured on this kind of machine (shared/reference/GOM.md).\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
    main()
