"""Trajectories/s of one belief-VAE training update (ELBO forward + backward + Adam) at BOReL's sizes.

The same loss, the same modules and the same latent noise, computed three ways:

- ``loop over prefixes (reference)``: the per-step formulation, written here: for t = 0..H, the latent z_t of all
  B trajectories decodes their H steps (the decoder's input concatenated as [z, features]), plus KL(q_t || q_{t-1});
  a Python loop of H+1 iterations.
- ``loop over trajectories (original)``: the original's ``update_step``: for each trajectory, its (H+1) x H grid of
  (latent, step) pairs decoded at once (concatenated inputs); a Python loop of B iterations.
- ``rlkit, one broadcast``: :class:`rlkit.objectives.elbo.BeliefELBOLoss` with ``decode_chunk_size=None``: one
  (B, H+1, H) broadcast, the decoder's first layer applied to latents and features apart and summed.
- ``rlkit, default chunks``: the same loss with its default ``decode_chunk_size="auto"``: on a CPU, the (H+1, H)
  grids of as many trajectories per decoder call as fit in 16,384 pairs (semi-circle 1, grid 4), so each
  activation stays cache-sized; still vectorised over every prefix and step.

Before timing, the script asserts that the three loss values agree (same seed, so same noise). Sizes (BOReL's
configs): batch 8 trajectories x 8 tasks = 64; Adam 3e-4; latent 5; KL weight 0.05.

- ``semicircle``: H = 2 episodes x 60 = 120 steps, obs 2, action 2, GRU 128, embeddings s 32 / a 16 / r 16, reward
  decoder r(z, s') with MLP [32, 32] (MSE); data shaped like the point robot's (s' = s + a, sparse goal reward).
- ``grid``: H = 4 episodes x 15 = 60 steps, obs 2 (cell x, y), one-hot action 5 (not embedded), GRU 64, embeddings
  s 32 / r 8, Bernoulli goal decoder over 25 cells from z (BCE); random walks on the 5x5 grid.

Each variant runs in a fresh process (``--worker``); peak memory is the resident-set peak over the timed updates above
the RSS just before them. Time per update: median of ``--iters`` timed updates after ``--warmup``.

    OMP_NUM_THREADS=1 python benchmarks/belief_vae.py             # both domains, all variants
    OMP_NUM_THREADS=1 python benchmarks/belief_vae.py --quick     # smoke run: tiny sizes, 1 update, /tmp output
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

DOMAINS = {
    "semicircle": {"horizon": 120, "obs": 2, "action": 2, "hidden": 128, "state_embed": 32, "action_embed": 16,
                   "reward_embed": 16},
    "grid": {"horizon": 60, "obs": 2, "action": 5, "hidden": 64, "state_embed": 32, "action_embed": 0,
             "reward_embed": 8},
}
LATENT, BATCH, LR, KL_COEF = 5, 64, 3e-4, 0.05
VARIANTS = ("loop over prefixes (reference)", "loop over trajectories (original)", "rlkit, one broadcast",
            "rlkit, default chunks", "encoder and KL alone (floor)")
BASELINE, FLOOR = VARIANTS[0], VARIANTS[-1]
"""FLOOR is not the loss: the work every formulation shares (encoder, KL, Adam), timed to bound any speedup."""
DEFAULT_OUT = Path("benchmarks/results/belief_vae.json")


# ---------------------------------------------------------------------------------------------------------- data
def make_batch(domain: str, batch: int, horizon: int, seed: int = 0):
    """(obs, action, reward, next_obs), each (batch, horizon, dim), shaped like the domain's meta-episodes."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    if domain == "semicircle":
        angle = torch.rand(batch, 1, generator=gen) * torch.pi
        goal = torch.cat([angle.cos(), angle.sin()], -1)[:, None]
        action = (torch.rand(batch, horizon, 2, generator=gen) * 2 - 1) * 0.1
        start = torch.rand(batch, 1, 2, generator=gen) * torch.tensor([3.0, 2.0]) - torch.tensor([1.5, 0.5])
        next_obs = start + action.cumsum(1)
        obs = torch.cat([start, next_obs[:, :-1]], 1)
        reward = ((next_obs - goal).norm(dim=-1, keepdim=True) <= 0.2).float()
        return obs, action, reward, next_obs
    moves = torch.tensor([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]])
    choice = torch.randint(0, 5, (batch, horizon), generator=gen)
    goal = torch.randint(0, 5, (batch, 1, 2), generator=gen)
    cells = torch.zeros(batch, horizon + 1, 2, dtype=torch.long)
    for t in range(horizon):  # data generation only, not timed
        cells[:, t + 1] = (cells[:, t] + moves[choice[:, t]]).clamp(0, 4)
    next_obs = cells[:, 1:].float()
    reward = torch.where((cells[:, 1:] == goal).all(-1, keepdim=True), 1.0, -0.1)
    action = torch.nn.functional.one_hot(choice, 5).float()
    return cells[:, :-1].float(), action, reward, next_obs


def build_loss(domain: str):
    from rlkit.modules.belief import BeliefEncoder, GridRewardDecoder, RewardDecoder
    from rlkit.objectives.elbo import BeliefELBOLoss

    size = DOMAINS[domain]
    encoder = BeliefEncoder(size["obs"], size["action"], LATENT, size["hidden"], size["state_embed"],
                            size["action_embed"], size["reward_embed"])
    decoder = GridRewardDecoder(LATENT) if domain == "grid" else RewardDecoder(LATENT, size["obs"])
    return BeliefELBOLoss(encoder, decoder, kl_coef=KL_COEF)


# ------------------------------------------------------------------------------- the reference formulations
def concat_reward_nll(decoder, latent, obs, action, reward, next_obs):
    """The reward decoder's NLL with its input concatenated as [z, features] (broadcast shapes expanded first)."""
    import torch
    from torch.nn import functional as F

    from rlkit.modules.belief import GridRewardDecoder

    if isinstance(decoder, GridRewardDecoder):  # z alone is the input: nothing to concatenate
        return decoder.nll(latent, obs, action, next_obs, reward)
    features = decoder.features(obs, action, next_obs)
    shape = torch.broadcast_shapes(latent.shape[:-1], features.shape[:-1])
    inputs = torch.cat([latent.expand(*shape, latent.shape[-1]), features.expand(*shape, features.shape[-1])], -1)
    prediction = decoder.net.rest(F.linear(inputs, decoder.net.first.weight, decoder.net.first.bias))
    return (prediction - reward).pow(2).sum(-1)


def kl_step(mean, logvar, ref_mean, ref_logvar):
    return 0.5 * (ref_logvar - logvar - 1.0 + (logvar - ref_logvar).exp()
                  + (mean - ref_mean).pow(2) * (-ref_logvar).exp()).sum(-1)


def loop_over_prefixes(loss, obs, action, reward, next_obs):
    """sum_t [ sum_j nll(z_t, step j) + KL(q_t || q_{t-1}) ], one Python iteration per prefix t; mean over B."""
    import torch

    mean, logvar, _ = loss.encoder(action, reward, next_obs)
    eps = torch.randn_like(mean)
    rec = kl = 0.0
    ref_mean, ref_logvar = torch.zeros_like(mean[:, 0]), torch.zeros_like(logvar[:, 0])
    for t in range(mean.shape[1]):
        z = mean[:, t] + (0.5 * logvar[:, t]).exp() * eps[:, t]
        rec = rec + concat_reward_nll(loss.reward_decoder, z[:, None], obs, action, reward, next_obs).sum(1)
        kl = kl + kl_step(mean[:, t], logvar[:, t], ref_mean, ref_logvar)
        ref_mean, ref_logvar = mean[:, t], logvar[:, t]
    return rec.mean() + KL_COEF * kl.mean()


def loop_over_trajectories(loss, obs, action, reward, next_obs):
    """The original's update_step: per trajectory, its (H+1) x H (latent, step) grid at once; mean over B."""
    import torch

    mean, logvar, _ = loss.encoder(action, reward, next_obs)
    eps = torch.randn_like(mean)
    total = 0.0
    for b in range(mean.shape[0]):
        z = mean[b] + (0.5 * logvar[b]).exp() * eps[b]                        # (H+1, L)
        rec = concat_reward_nll(loss.reward_decoder, z[:, None], obs[b][None], action[b][None], reward[b][None],
                                next_obs[b][None]).sum()
        zero = torch.zeros_like(mean[b, :1])
        kl = kl_step(mean[b], logvar[b], torch.cat([zero, mean[b, :-1]]), torch.cat([zero, logvar[b, :-1]])).sum()
        total = total + rec + KL_COEF * kl
    return total / mean.shape[0]


def vectorised(loss, obs, action, reward, next_obs, chunk: int | str | None = "auto"):
    loss.decode_chunk_size = chunk
    terms = loss.loss_terms(obs, action, reward, next_obs)
    return terms["loss_reward"] + terms["loss_kl"]


def encoder_and_kl(loss, obs, action, reward, next_obs):
    """The floor: the encoder's forward and the KL term, no decoding (every formulation also does this work)."""
    mean, logvar, _ = loss.encoder(action, reward, next_obs)
    return KL_COEF * loss.kl_divergence(mean, logvar).sum(1).mean()


def formulation_of(variant: str):
    one_broadcast = lambda loss, *data: vectorised(loss, *data, chunk=None)
    functions = (loop_over_prefixes, loop_over_trajectories, one_broadcast, vectorised, encoder_and_kl)
    return dict(zip(VARIANTS, functions))[variant]


def check_agreement(domain: str, batch: int, horizon: int) -> dict[str, float]:
    """The three formulations' loss values on one batch with the same noise; raises if they differ."""
    import torch

    torch.manual_seed(0)
    loss = build_loss(domain)
    data = make_batch(domain, batch, horizon)
    values = {}
    for name in VARIANTS[:-1]:  # the floor is not the loss
        torch.manual_seed(1)
        values[name] = formulation_of(name)(loss, *data).item()
    reference = values[BASELINE]
    for name, value in values.items():
        if abs(value - reference) > 1e-4 * max(1.0, abs(reference)):
            raise AssertionError(f"{domain}: {name} gives loss {value!r}, the reference {reference!r}")
    return values


# --------------------------------------------------------------------------------------------------- timing
def run_variant(domain: str, variant: str, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    loss = build_loss(domain)
    data = make_batch(domain, args.batch, args.horizon or DOMAINS[domain]["horizon"])
    optimizer = torch.optim.Adam(loss.parameters(), lr=LR)
    formulation = formulation_of(variant)

    def update() -> None:
        optimizer.zero_grad(set_to_none=True)
        formulation(loss, *data).backward()
        optimizer.step()

    for _ in range(args.warmup):
        update()
    release_freed_memory()
    peak_tracked = reset_peak_rss()
    before = rss_bytes()
    times = []
    for _ in range(args.iters):
        start = time.perf_counter()
        update()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    peak = (peak_rss_bytes() - before) / 2**20 if peak_tracked else None
    if variant == VARIANTS[3]:
        horizon = data[0].shape[1]
        variant += f" ({loss.chunk_size_for(args.batch, horizon + 1, horizon, data[0].device)} traj / call)"
    return {"domain": domain, "variant": variant, "batch": args.batch, "horizon": data[0].shape[1],
            "median_s": median, "times_s": times, "trajectories_per_s": args.batch / median, "peak_update_mib": peak}


def run_all(args: argparse.Namespace) -> list[dict]:
    results = []
    for domain in args.domains:
        for variant in VARIANTS:
            command = [sys.executable, __file__, "--worker", domain, variant, "--warmup", str(args.warmup),
                       "--iters", str(args.iters), "--threads", str(args.threads), "--batch", str(args.batch),
                       "--horizon", str(args.horizon)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{domain} / {variant} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            last = results[-1]
            print(f"  {domain:10s} {last['variant']:35s} {last['median_s'] * 1e3:9.1f} ms / update", flush=True)
    return results


def markdown_table(results: list[dict]) -> str:
    lines = ["| domain | B x H | variant | ms / update | trajectories/s | speedup vs loop over prefixes | peak MiB |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in results:
        base = next(x for x in results if x["domain"] == r["domain"] and x["variant"] == BASELINE)
        peak = f"{r['peak_update_mib']:.0f}" if r["peak_update_mib"] is not None else "n/a"
        speedup = f"{base['median_s'] / r['median_s']:.2f}x" + (" (bound)" if r["variant"] == FLOOR else "")
        lines.append(f"| {r['domain']} | {r['batch']} x {r['horizon']} | {r['variant']} | {r['median_s'] * 1e3:.1f} | "
                     f"{r['trajectories_per_s']:.1f} | {speedup} | {peak} |")
    return "\n".join(lines)


def decoder_gmac(domain: str, batch: int, horizon: int) -> float:
    """Multiply-adds (GMAC) of one update's reward decoding as rlkit computes it (first layer split): forward and
    the two backward products per layer."""
    if domain == "grid":  # z -> [32, 32] -> 25 cell logits: once per prefix, the steps only pick a logit
        return 3 * batch * (horizon + 1) * (LATENT * 32 + 32 * 32 + 32 * 25) / 1e9
    per_pair = LATENT * 32 + 32 * 32 + 32  # the feature half of the first layer runs once per step, not per pair
    return 3 * batch * (horizon + 1) * horizon * per_pair / 1e9


def matmul_peak_gflops(threads: int) -> float:
    """This machine's fp32 matmul throughput (GFLOP/s) on 1024 x 1024 products, the decoders' ceiling."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    start, reps = time.perf_counter(), 20
    for _ in range(reps):
        a @ b
    return 2 * 1024**3 * reps / (time.perf_counter() - start) / 1e9


def bound_lines(results: list[dict], peak_gflops: float, target: float = 5.0) -> list[str]:
    """Per domain: the largest speedup the floor allows, and what ``target`` would demand of the decoding."""
    lines = []
    for domain in dict.fromkeys(r["domain"] for r in results):
        rows = {r["variant"]: r for r in results if r["domain"] == domain}
        base, floor = rows[BASELINE], rows.get(FLOOR)
        if floor is None:
            continue
        gmac = decoder_gmac(domain, base["batch"], base["horizon"])
        budget = base["median_s"] / target - floor["median_s"]
        line = (f"- {domain}: encoder + KL + Adam alone take {floor['median_s'] * 1e3:.0f} ms, so no formulation of "
                f"this loss can beat the reference by more than {base['median_s'] / floor['median_s']:.1f}x here. ")
        if budget > 0:
            line += (f"{target:.0f}x would leave {budget * 1e3:.0f} ms for the decoding, whose matmuls are "
                     f"{gmac:.2f} GMAC even with the first layer split: {2 * gmac / budget:.0f} GFLOP/s, against this "
                     f"core's fp32 matmul peak of {peak_gflops:.0f} GFLOP/s.")
        else:
            line += f"{target:.0f}x is out of reach even with free decoding."
        lines.append(line)
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=2, help="untimed updates first")
    parser.add_argument("--iters", type=int, default=5, help="timed updates per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--batch", type=int, default=BATCH, help="trajectories per update (BOReL: 8 x 8 tasks)")
    parser.add_argument("--horizon", type=int, default=0, help="steps per trajectory (0: the domain's own)")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS), help="subset to run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON path (a .md with the table beside it)")
    parser.add_argument("--quick", action="store_true", help="smoke run: batch 4, horizon 8, 1 update, /tmp output")
    parser.add_argument("--worker", nargs=2, metavar=("DOMAIN", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.iters, args.batch, args.horizon = 1, 1, 4, 8
        if args.out == DEFAULT_OUT:
            args.out = Path("/tmp/belief_vae_quick.json")
    too_small = {name: getattr(args, name) for name in ("warmup", "iters", "threads", "batch")
                 if getattr(args, name) < 1 and not (name == "warmup" and args.warmup == 0)}
    if too_small or args.horizon < 0:
        parser.error(f"these must be >= 1 (warmup >= 0, horizon >= 0): {too_small or {'horizon': args.horizon}}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        domain, variant = args.worker
        print(json.dumps(run_variant(domain, variant, args)))
        return
    import torch
    import torchrl

    agreement = {domain: check_agreement(domain, min(args.batch, 8), args.horizon or DOMAINS[domain]["horizon"])
                 for domain in args.domains}
    load = os.getloadavg()
    print("loss values agree:", json.dumps(agreement))
    results = run_all(args)
    table = markdown_table(results)
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                    "load_average_at_start": [round(x, 2) for x in load]},
        "versions": {"torch": torch.__version__, "torchrl": torchrl.__version__},
        "settings": {"warmup": args.warmup, "iters": args.iters, "threads": args.threads, "batch": args.batch,
                     "latent": LATENT, "lr": LR, "kl_coef": KL_COEF, "domains": {d: DOMAINS[d] for d in args.domains}},
    }
    peak = matmul_peak_gflops(args.threads)
    bounds = bound_lines(results, peak)
    meta["matmul_peak_gflops"] = round(peak, 1)
    print(table, *bounds, sep="\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "agreement": agreement, "results": results, "table": table,
                                    "bounds": bounds},
                                   indent=2) + "\n")
    machine = meta["machine"]
    args.out.with_suffix(".md").write_text(
        f"Command: `{meta['command']}` ({meta['date']}, {machine['cpus']} CPUs, OMP_NUM_THREADS="
        f"{machine['OMP_NUM_THREADS']}, load average at start {machine['load_average_at_start']})\n\n"
        f"All variants but the floor compute the same loss (values checked equal before timing).\n\n{table}\n\n"
        + "\n".join(bounds) + "\n")


if __name__ == "__main__":
    main()
