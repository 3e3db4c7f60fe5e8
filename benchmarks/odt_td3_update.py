"""Updates/s and peak memory of one full ODT+TD3 update: rlkit eager, rlkit torch.compile, TorchRL's HF-GPT2 DT.

One update, as in the original's online phase with an actor step due: a critic step (target DT on the window shifted by
one step, smoothed target action, twin-Q MSE, AdamW), an actor step (supervised MSE + 0.1 * -Q1 at every valid
position, LAMB, grad-norm clip 0.25, warmup scheduler), and Polyak updates of the target critic and target DT.
Sizes: batch 256 windows of K=20, embed 512, 4 layers, 4 heads, n_inner 2048, dropout 0.1, hopper dims (S=11, A=3);
a quarter of the windows are left-padded (episode starts).

Variants (each in a fresh subprocess, so its memory is its own):

- ``rlkit eager``: ``DecisionTransformer`` (SDPA attention, exact padding mask) + ``DeterministicDTPolicy`` +
  ``TwinQCritic`` + ``ODTTD3Loss`` from ``rlkit.objectives.odt_td3``.
- ``rlkit eager, every token``: the same with ``state_queries_only=False``: the last block also computes the return
  and action tokens' outputs, which nothing reads (what TorchRL's and the original's DTs compute).
- ``rlkit compiled``: the same with ``nn.Module.compile()`` on the online and target DT trunks and critics (compiled
  in place, so state_dict keys and the loss's target copies are unchanged). The first updates pay the compilation;
  it is reported apart.
- ``torchrl DT (HF GPT2) eager``: the same policy head, critic, loss and optimisers on TorchRL's
  ``torchrl.modules.DecisionTransformer`` (HF ``GPT2Model``, positional embeddings kept, no padding mask). Needs
  ``transformers``; when it is not importable the row says so and nothing is measured.

Memory: resident-set size read from ``/proc/self``. After the warm-up updates, freed memory is handed back to the OS
(``malloc_trim``) and the kernel's peak-RSS mark is reset; ``peak MiB`` is the peak over the timed updates above the
RSS just before them (activations, gradients and temporaries of one update; parameters and optimiser state are
already resident and are reported as ``resident MiB``).

Precision: ``--precision bf16`` runs every variant's forward passes under CPU bf16 autocast (parameters and optimiser
states stay fp32); on a CPU with AVX512-BF16 both DTs get about 3x faster, so the comparison stays like for like.

Timing: each timed update is measured on its own; the table gives the median (the JSON keeps every time).

    OMP_NUM_THREADS=1 python benchmarks/odt_td3_update.py --warmup 2 --iters 5
"""

from __future__ import annotations

import argparse
import importlib.util
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

STATE_DIM, ACT_DIM = 11, 3  # hopper
DROPOUT = 0.1
SIZES = {"batch": 256, "context": 20, "embed": 512, "layers": 4, "heads": 4}  # n_inner = 4 * embed

VARIANTS = ("torchrl DT (HF GPT2) eager", "rlkit eager", "rlkit eager, every token", "rlkit compiled")
BASELINE = VARIANTS[0]


# ---------------------------------------------------------------------------------------------------- the update
def window_batch(batch_size: int, context: int, seed: int = 0):
    """A window batch (interface 4 of the issue): normalised-looking states, actions in [-1, 1], RTG, padding."""
    import torch
    from tensordict import TensorDict

    from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
    from rlkit.data.window_keys import MASK, NEXT_RTG, RTG, TIMESTEP

    gen = torch.Generator().manual_seed(seed)
    start = torch.randint(0, 1000, (batch_size, 1), generator=gen)
    pad = torch.zeros(batch_size, dtype=torch.long)
    quarter = batch_size // 4
    pad[:quarter] = torch.randint(1, max(context, 2), (quarter,), generator=gen).clamp_max(context - 1)
    steps = torch.arange(context)
    mask = steps[None, :] >= pad[:, None]
    timestep = torch.where(mask, (start + steps - pad[:, None]).clamp_min(0), 0)
    shape = (batch_size, context)
    reward = torch.rand(*shape, 1, generator=gen) * 3
    rtg = torch.rand(*shape, 1, generator=gen) * 3.6
    states = torch.randn(*shape, STATE_DIM, generator=gen)
    data = {
        OBS: states,
        ACTION: torch.rand(*shape, ACT_DIM, generator=gen) * 2 - 1,
        RTG: rtg,
        TIMESTEP: timestep,
        MASK: mask,
        NEXT_OBS: torch.cat((states[:, 1:], torch.randn(batch_size, 1, STATE_DIM, generator=gen)), dim=1),
        REWARD: reward,
        TERMINATED: torch.zeros(*shape, 1, dtype=torch.bool),
        NEXT_RTG: rtg - reward * 0.001,
    }
    return TensorDict(data, batch_size=list(shape))


def torchrl_trunk(embed: int, layers: int, heads: int):
    """TorchRL's HF-GPT2 DT behind rlkit's trunk signature (timesteps and mask accepted and ignored: it has none)."""
    import torch
    from torchrl.modules import DecisionTransformer as TorchRLDecisionTransformer

    config = TorchRLDecisionTransformer.DTConfig(
        n_embd=embed, n_layer=layers, n_head=heads, n_inner=4 * embed, activation="relu", n_positions=1024,
        resid_pdrop=DROPOUT, attn_pdrop=DROPOUT,
    )

    class TorchRLTrunk(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dt = TorchRLDecisionTransformer(STATE_DIM, ACT_DIM, config=config)
            self.embed_dim = embed
            self.act_dim = ACT_DIM

        def forward(self, states, actions, returns_to_go, timesteps=None, mask=None):
            return self.dt(states, actions, returns_to_go)

    return TorchRLTrunk()


def build_update(variant: str, args: argparse.Namespace):
    """The models, the loss and a zero-argument function running one full update on a fixed batch."""
    import torch

    from rlkit.modules import DecisionTransformer, DeterministicDTPolicy, TwinQCritic
    from rlkit.objectives.odt_td3 import ODTTD3Loss
    from rlkit.objectives.optim import clip_dt_grad_, make_critic_optimizer, make_dt_optimizer

    torch.manual_seed(0)
    if variant.startswith("torchrl"):
        trunk = torchrl_trunk(args.embed, args.layers, args.heads)
    else:
        trunk = DecisionTransformer(STATE_DIM, ACT_DIM, embed_dim=args.embed, n_layer=args.layers, n_head=args.heads,
                                    n_inner=4 * args.embed, dropout=DROPOUT, activation="relu",
                                    state_queries_only=variant != "rlkit eager, every token")
    policy = DeterministicDTPolicy(trunk, ACT_DIM)
    critic = TwinQCritic(STATE_DIM, ACT_DIM, hidden_sizes=(256, 256))
    loss = ODTTD3Loss(policy, critic)
    if variant == "rlkit compiled":
        for module in (policy.transformer, loss._target_policy.transformer, critic, loss._target_critic):
            module.compile()
    dt_optim, scheduler = make_dt_optimizer(policy.parameters())
    critic_optim = make_critic_optimizer(critic.parameters())
    batch = window_batch(args.batch, args.context)

    autocast = dict(device_type="cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def update() -> None:
        critic_optim.zero_grad(set_to_none=True)
        with torch.autocast(**autocast):
            critic = loss.critic_loss(batch)["loss_critic"]
        critic.backward()
        critic_optim.step()
        with torch.autocast(**autocast):
            actor = loss.actor_loss(batch)
        dt_optim.zero_grad(set_to_none=True)
        actor["loss_actor"].backward()
        clip_dt_grad_(policy)
        dt_optim.step()
        scheduler.step()
        loss.update_targets()

    n_params = sum(p.numel() for p in policy.parameters())
    return update, n_params


def run_variant(variant: str, args: argparse.Namespace) -> dict:
    """Measure one variant in this process; returns the JSON-ready result."""
    import torch

    torch.set_num_threads(args.threads)
    row: dict = {"variant": variant, "threads": args.threads, "precision": args.precision}
    if variant.startswith("torchrl") and importlib.util.find_spec("transformers") is None:
        row["status"] = "transformers not installed"
        return row
    row["loadavg_1min_start"] = os.getloadavg()[0]  # other processes on the box slow every variant alike
    rss_start = rss_bytes()
    update, n_params = build_update(variant, args)
    row["dt_parameters"] = n_params
    warmup_times = []
    for _ in range(args.warmup):
        start = time.perf_counter()
        update()
        warmup_times.append(time.perf_counter() - start)
    release_freed_memory()
    resident = rss_bytes()
    peak_tracked = reset_peak_rss()
    times = []
    for _ in range(args.iters):
        start = time.perf_counter()
        update()
        times.append(time.perf_counter() - start)
    peak = peak_rss_bytes()
    median = statistics.median(times)
    row.update(
        status="ok",
        warmup_s=warmup_times,
        times_s=times,
        median_s=median,
        best_s=min(times),
        loadavg_1min_end=os.getloadavg()[0],
        updates_per_s=1.0 / median,
        first_update_s=warmup_times[0] if warmup_times else None,
        resident_mib=(resident - rss_start) / 2**20,
        peak_update_mib=(peak - resident) / 2**20 if peak_tracked else None,
        peak_rss_mib=peak / 2**20,
    )
    return row


def run_all(args: argparse.Namespace) -> list[dict]:
    results = []
    for variant in args.variants:
        print(f"[odt_td3_update] {variant} ...", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--worker", variant, "--warmup", str(args.warmup),
                   "--iters", str(args.iters), "--threads", str(args.threads), "--precision", args.precision]
        command += [f"--{name}={getattr(args, name)}" for name in SIZES]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"variant {variant!r} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def markdown_table(results: list[dict]) -> str:
    baseline = next((r for r in results if r["variant"] == BASELINE and r["status"] == "ok"), None)
    lines = [
        "| variant | updates/s | s / update (median) | best s | first update s | speedup vs TorchRL | "
        "peak MiB / update | resident MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["status"] != "ok":
            lines.append(f"| {r['variant']} | {r['status']} | - | - | - | - | - | - |")
            continue
        speedup = f"{baseline['median_s'] / r['median_s']:.2f}x" if baseline else "n/a"
        peak = f"{r['peak_update_mib']:.0f}" if r["peak_update_mib"] is not None else "n/a"
        lines.append(f"| {r['variant']} | {r['updates_per_s']:.4f} | {r['median_s']:.2f} | {r['best_s']:.2f} | "
                     f"{r['first_update_s']:.1f} | {speedup} | {peak} | {r['resident_mib']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=2, help="untimed updates first (compilation happens here)")
    parser.add_argument("--iters", type=int, default=5, help="timed updates per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: the losses' forward passes under CPU bf16 autocast, for every variant alike")
    for name, default in SIZES.items():
        parser.add_argument(f"--{name}", type=int, default=default, help=f"{name} (default {default})")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS, help="subset to run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/odt_td3_update.json"), help="JSON path")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    too_small = {name: getattr(args, name) for name in ("warmup", "iters", "threads", *SIZES)
                 if getattr(args, name) < 1}
    if too_small:
        parser.error(f"these must be >= 1: {too_small}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_variant(args.worker, args)))
        return
    import torch
    import torchrl

    results = run_all(args)
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "versions": {"torch": torch.__version__, "torchrl": torchrl.__version__,
                     "transformers": _version_or_none("transformers")},
        "config": {**{name: getattr(args, name) for name in SIZES}, "n_inner": 4 * args.embed,
                   "state_dim": STATE_DIM, "act_dim": ACT_DIM, "dropout": DROPOUT,
                   "warmup": args.warmup, "iters": args.iters, "threads": args.threads,
                   "precision": args.precision},
        "memory": "RSS from /proc/self: peak_update_mib = VmHWM over the timed updates minus RSS before them "
                  "(after malloc_trim); resident_mib = RSS after warm-up minus RSS before building the models",
    }
    table = markdown_table(results)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=2) + "\n")


def _version_or_none(package: str) -> str | None:
    if importlib.util.find_spec(package) is None:
        return None
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
    main()
