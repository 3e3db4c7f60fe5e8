"""BOReL's result: success in the second episode on held-out tasks, with reward relabelling (RR) versus without.

For each env (semi-circle ``point_robot_sparse`` and ``gridworld``) and seed: collect scripted per-task data
(``--data-seed`` = the seed, so tasks differ between seeds), then for RR on and off train the belief VAE and the
offline agent (``examples/borel``'s ``--small`` configuration unless ``--full``) and evaluate deterministically on
held-out tasks over whole meta-episodes. Outputs under ``--out`` (default benchmarks/results/):

- ``borel_results.json``: every run's per-episode success and return, the command, date, machine, versions;
- ``borel_belief_map.json``: the data of the belief plot (predicted reward per step and goal angle, positions);
- ``borel_results.md``: the table (mean +- std over seeds);
- ``borel_results.png``: second-episode success per env and condition, and the belief's reward prediction over the
  semicircle as the agent explores one held-out task (the reward decoder at goal angles along the arc, per step).

    OMP_NUM_THREADS=1 python benchmarks/borel_results.py --seeds 0 1 2

``--folds N`` cross-validates the grid: per seed, data on all 21 goals, one run per fold holding that fold out, and
the seed's figures pooled over every goal (``borel_results_grid_cells.png``: episode-2 success per goal cell).

Runs whose ``results_{rr,no_rr}.json`` exist under ``--runs-root`` are read, not run again. ``--vaes-from ROOT``
trains only the agents, on the data and belief VAEs of an earlier ``--runs-root`` (for agent ablations such as
``--extra '--cql-weight 1'``, so that both arms share one belief per seed and condition).
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
import torch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "borel"
sys.path.insert(0, str(EXAMPLE))

import common  # noqa: E402
import train_offline_agent  # noqa: E402
import train_single_agent  # noqa: E402
import train_vae_offline  # noqa: E402
from config import parse_args  # noqa: E402

from rlkit.envs.meta.grid_navi import GRID_SIZE  # noqa: E402
from rlkit.utils.atomic import atomic_write_text  # noqa: E402

ENVS = ("point_robot_sparse", "gridworld")
FOLDED_ENVS = ("gridworld",)  # finite goal sets, where --folds can hold out every goal once
ARC_ANGLES = 61


def run_argv(env: str, seed: int, rr: bool, runs_root: Path, full: bool, extra: list[str],
             vaes_from: Path | None = None, fold: tuple[int, int] | None = None) -> list[str]:
    """The example's flags for one run; with ``vaes_from``, the data and the VAE come from that earlier runs root;
    with ``fold`` (k, n), fold k of n is held out, and the seed's folds share one collection on every goal."""
    seed_folder = runs_root / env / f"seed_{seed}"
    seed_source = seed_folder if vaes_from is None else vaes_from / env / f"seed_{seed}"
    if fold is None:
        folder, source, data, fold_flags = seed_folder, seed_source, seed_source / "data", []
    else:
        name = f"fold_{fold[0]}_of_{fold[1]}"  # distinct per fold count, so that cached runs never mix counts
        folder, source = seed_folder / name, seed_source / name
        data, fold_flags = seed_source / "data_all_goals", ["--held-out-fold", str(fold[0]), "--folds", str(fold[1])]
    vae = [] if vaes_from is None else ["--vae-path", str(source / f"vae_{'rr' if rr else 'no_rr'}.pt")]
    return ["--env-type", env, "--seed", str(seed), "--data-seed", str(seed), "--data-dir", str(data),
            "--run-dir", str(folder), "--hindsight-relabelling", str(rr).lower(), "--progress", "false",
            *fold_flags, *vae, *([] if full else ["--small"]), *extra]


def run_one(env: str, seed: int, rr: bool, runs_root: Path, full: bool, extra: list[str],
            vaes_from: Path | None = None, fold: tuple[int, int] | None = None) -> dict[str, Any]:
    """Collect (once per env and seed), train the VAE (unless ``vaes_from``) and the agent; the evaluation record
    (cached on disk)."""
    argv = run_argv(env, seed, rr, runs_root, full, extra, vaes_from, fold)
    args = parse_args(argv)
    done = common.run_dir(args) / f"results_{common.relabel_tag(args)}.json"
    if done.exists():
        return json.loads(done.read_text())
    start = time.perf_counter()
    if vaes_from is None:
        if not (common.data_dir(args)).exists():
            train_single_agent.collect(args)
        train_vae_offline.main(argv)
    elif not common.vae_path(args).is_file() or not common.data_dir(args).is_dir():
        raise FileNotFoundError(f"--vaes-from {vaes_from}: no VAE {common.vae_path(args)} or data "
                                f"{common.data_dir(args)} for {env} seed {seed}; run that root without "
                                "--vaes-from first")
    common.run_dir(args).mkdir(parents=True, exist_ok=True)
    record = train_offline_agent.train(args)
    record.pop("results")
    record["seconds"] = time.perf_counter() - start
    atomic_write_text(done, json.dumps(record, indent=1))
    return record


def run_seed(env: str, seed: int, rr: bool, runs_root: Path, full: bool, extra: list[str],
             vaes_from: Path | None = None, folds: int = 0) -> dict[str, Any]:
    """One seed's record: a single run, or with ``folds`` (finite task sets only), one run per fold pooled over
    every held-out goal (:func:`pooled_folds`)."""
    if not folds:
        return run_one(env, seed, rr, runs_root, full, extra, vaes_from)
    return pooled_folds([run_one(env, seed, rr, runs_root, full, extra, vaes_from, (k, folds)) for k in range(folds)])


def pooled_folds(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The folds of one seed as one record: per-episode success and return averaged over all held-out tasks (each
    fold weighted by its tasks), the per-task values concatenated, the seconds summed."""
    per_task = {key: [row for r in records for row in r["evaluation"][key]]
                for key in ("per_task_success", "per_task_return", "tasks")}
    evaluation = {"success": np.mean(per_task["per_task_success"], axis=0).tolist(),
                  "return": np.mean(per_task["per_task_return"], axis=0).tolist(), **per_task}
    args = dict(records[0]["args"], held_out_fold=None)
    return {"env_type": records[0]["env_type"], "hindsight_relabelling": records[0]["hindsight_relabelling"],
            "evaluation": evaluation, "args": args, "folds": len(records),
            "fold_success": [r["evaluation"]["success"] for r in records],
            "seconds": sum(r.get("seconds") or 0.0 for r in records)}


def evaluate_saved_run(args: Any, num_tasks: int, task_set: str = "held-out") -> tuple[Any, torch.nn.Module,
                                                                                    np.ndarray]:
    """The saved agent and VAE of the run ``args`` names, evaluated deterministically on the first ``num_tasks`` of
    its held-out tasks (or, with ``task_set="training"``, of the tasks its data came from, as a diagnostic):
    (MetaEpisodeResults, reward decoder, tasks)."""
    if task_set not in ("held-out", "training"):
        raise ValueError(f"task_set must be 'held-out' or 'training'; got {task_set!r}")
    from rlkit.agents.belief_agent import BeliefAgent, evaluate_meta_episodes
    from rlkit.envs.meta.registry import meta_env_spec

    agent_path = common.run_dir(args) / f"agent_{common.relabel_tag(args)}.pt"
    if not agent_path.is_file():
        raise FileNotFoundError(f"no saved agent {agent_path}; train the run with borel_results.py first")
    family, spec = common.family_of(args), meta_env_spec(args.env_type)
    encoder, reward_decoder, _, settings = common.load_vae(common.vae_path(args), args)
    agent = common.build_agent(args, family, common.hyper_dim_of(settings))
    agent.load_state_dict(torch.load(agent_path)["agent"])
    train_tasks = np.asarray(common.load_dataset(args).tasks)
    if task_set == "training":
        if num_tasks > len(train_tasks):
            raise ValueError(f"{num_tasks} training tasks asked, but the data has {len(train_tasks)}")
        tasks = train_tasks[:num_tasks]
    else:
        tasks = common.evaluation_tasks(args, family, train_tasks)[:num_tasks]
    results = evaluate_meta_episodes(BeliefAgent(encoder, agent, family.num_actions), family, tasks,
                                     spec.episodes_per_task, seed=args.seed)
    return results, reward_decoder, tasks


def belief_reward_map(env: str, seed: int, rr: bool, runs_root: Path, full: bool, extra: list[str],
                      vaes_from: Path | None = None) -> dict:
    """Predicted reward at ARC_ANGLES goal positions on the semicircle for each step's belief mean, in one held-out
    task, with the agent's trajectory (replays the deterministic evaluation of the saved agent)."""
    args = parse_args(run_argv(env, seed, rr, runs_root, full, extra, vaes_from))
    results, reward_decoder, task = evaluate_saved_run(args, 1)
    angles = np.linspace(0.0, np.pi, ARC_ANGLES)
    arc = torch.tensor(np.stack([np.cos(angles), np.sin(angles)], -1), dtype=torch.float32)  # (A, 2)
    means = torch.as_tensor(results.means[0], dtype=torch.float32)  # (S+1, L)
    with torch.no_grad():
        predicted = reward_decoder(means[:, None], None, None, arc[None])[..., 0]  # (S+1, A)
    return {"angles": np.round(angles, 4).tolist(), "predicted": np.round(predicted.double().numpy(), 4).tolist(),
            "task": task[0].tolist(), "positions": np.round(results.observations[0].astype(np.float64), 4).tolist(),
            "success": results.successes[0].tolist()}


def table(records: dict[str, dict[str, list[dict]]]) -> str:
    lines = ["| env | reward relabelling | seeds | held-out tasks per seed | success ep 1 | success ep 2 | "
             "return ep 2 |", "|---|---|---:|---:|---:|---:|---:|"]
    for env, by_tag in records.items():
        for tag, runs in by_tag.items():
            success = np.array([r["evaluation"]["success"] for r in runs])
            returns = np.array([r["evaluation"]["return"] for r in runs])
            tasks = sorted({len(r["evaluation"]["tasks"]) for r in runs})
            cell = lambda x: f"{x.mean():.2f} ± {x.std():.2f}"
            lines.append(f"| {env} | {'yes' if tag == 'rr' else 'no'} | {len(runs)} | "
                         f"{'/'.join(map(str, tasks))} | {cell(success[:, 0])} | {cell(success[:, 1])} | "
                         f"{cell(returns[:, 1])} |")
    return "\n".join(lines)


def verdict(records: dict[str, dict[str, list[dict]]]) -> dict[str, bool]:
    """Per env: is RR clearly better in episode 2 (mean gap above 0.1 and above either condition's std over seeds)?"""
    out = {}
    for env, by_tag in records.items():
        rr, no_rr = (np.array([r["evaluation"]["success"][1] for r in by_tag[tag]]) for tag in ("rr", "no_rr"))
        out[env] = bool(rr.mean() - no_rr.mean() > max(0.1, rr.std(), no_rr.std()))
    return out


def plot(records: dict, maps: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(maps), figsize=(5 + 5 * len(maps), 4))
    axes = np.atleast_1d(axes)
    envs = list(records)
    for k, tag in enumerate(("rr", "no_rr")):
        values = [np.array([r["evaluation"]["success"][1] for r in records[env][tag]]) for env in envs]
        x = np.arange(len(envs)) + (k - 0.5) * 0.35
        axes[0].bar(x, [v.mean() for v in values], 0.35, yerr=[v.std() for v in values],
                    label="with RR" if tag == "rr" else "without RR")
        for xi, v in zip(x, values):
            axes[0].scatter(np.full(len(v), xi), v, color="k", s=8, zorder=3)
    axes[0].set_xticks(np.arange(len(envs)), envs)
    axes[0].set_ylabel("success in episode 2 (held-out tasks)")
    axes[0].set_ylim(0, 1.05)
    axes[0].legend()
    for ax, (tag, data) in zip(axes[1:], maps.items()):
        predicted = np.array(data["predicted"])
        image = ax.imshow(predicted.T, aspect="auto", origin="lower", extent=(0, predicted.shape[0] - 1, 0, 180),
                          cmap="viridis")
        goal = np.degrees(np.arctan2(data["task"][1], data["task"][0]))
        ax.axhline(goal, color="r", linestyle="--", linewidth=1, label="true goal")
        positions = np.array(data["positions"])
        near_arc = np.abs(np.linalg.norm(positions, axis=-1) - 1.0) < 0.3  # the agent's angle where it is near the arc
        steps = np.nonzero(near_arc)[0]
        ax.scatter(steps, np.degrees(np.arctan2(positions[steps, 1], positions[steps, 0])), s=4, color="w",
                   label="agent near the arc")
        ax.axvline((predicted.shape[0] - 1) / 2, color="w", linewidth=0.8)
        ax.set_xlabel("step of the meta-episode (2 episodes)")
        ax.set_ylabel("goal angle on the semicircle (deg)")
        ax.set_title(f"semi-circle, belief's predicted reward ({'with' if tag == 'rr' else 'without'} RR)")
        ax.legend(loc="upper right", fontsize=7)
        fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def cell_success(runs: list[dict], episode: int) -> np.ndarray:
    """(5, 5) success in ``episode`` per goal cell of the grid, averaged over the runs that held it out (NaN where
    none did); indexed [y, x]."""
    total, count = np.zeros((GRID_SIZE, GRID_SIZE)), np.zeros((GRID_SIZE, GRID_SIZE))
    for r in runs:
        for task, success in zip(r["evaluation"]["tasks"], r["evaluation"]["per_task_success"]):
            x, y = (int(round(v)) for v in task)
            total[y, x] += success[episode]
            count[y, x] += 1
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def plot_grid_cells(by_tag: dict[str, list[dict]], path: Path) -> None:
    """Episode-2 success per held-out goal cell, with and without RR and their difference, over seeds: where on the
    grid RR helps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = {tag: cell_success(by_tag[tag], 1) for tag in ("rr", "no_rr")}
    panels = [(values["rr"], "viridis", (0, 1), "with RR"), (values["no_rr"], "viridis", (0, 1), "without RR"),
              (values["rr"] - values["no_rr"], "coolwarm_r", (-1, 1), "with minus without")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, (grid, cmap, (low, high), title) in zip(axes, panels):
        image = ax.imshow(grid, origin="lower", cmap=cmap, vmin=low, vmax=high)
        for (y, x), v in np.ndenumerate(grid):
            text = "start" if (x, y) == (0, 0) else ("" if np.isnan(v) else f"{v:+.2f}" if low < 0 else f"{v:.2f}")
            dark = cmap == "viridis" and not np.isnan(v) and v < 0.6
            ax.text(x, y, text, ha="center", va="center", color="w" if dark else "k", fontsize=9)
        ax.set_title(f"{title}: {np.nanmean(grid):+.2f}" if low < 0 else f"{title}: {np.nanmean(grid):.2f}")
        ax.set_xticks(range(GRID_SIZE))
        ax.set_yticks(range(GRID_SIZE))
        ax.set_xlabel("goal x")
        ax.set_ylabel("goal y")
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(f"Grid: episode-2 success per goal cell, every goal held out once in each of "
                 f"{len(by_tag['rr'])} seeds (cross-validation folds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def kept_notes(path: Path) -> str:
    """The hand-written analysis of an existing results page (from its first ``## `` heading on), so that a rerun
    rewrites the table and keeps the explanation, which must then be checked against the new numbers."""
    if not path.is_file():
        return ""
    text = path.read_text()
    start = text.find("\n## ")
    return "" if start < 0 else text[start:]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=ENVS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--runs-root", type=Path, default=ROOT / "runs" / "borel_results")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--full", action="store_true", help="the original's sizes instead of --small (hours)")
    parser.add_argument("--extra", default="", help="more flags for every run, e.g. '--num-iters 40'")
    parser.add_argument("--grid-extra", default="",
                        help="more flags for the grid's runs only, after --extra (e.g. the original's learned DQN "
                             "data: '--agent learned --meta-episodes 510')")
    parser.add_argument("--vaes-from", type=Path, default=None,
                        help="train only the agents, on the data and VAEs of this earlier --runs-root")
    parser.add_argument("--folds", type=int, default=0,
                        help="grid only: cross-validate, holding out each of this many folds of its 21 goals once "
                             "per seed (one collection on every goal per seed); 0: one draw of held-out goals")
    options = parser.parse_args(argv)
    if options.folds == 1 or options.folds < 0:
        raise SystemExit(f"--folds must be 0 (off) or at least 2; got {options.folds}")
    extra = shlex.split(options.extra)
    env_extra = {env: extra + (shlex.split(options.grid_extra) if env == "gridworld" else []) for env in ENVS}
    start = time.perf_counter()
    records: dict[str, dict[str, list[dict]]] = {}
    for env in options.envs:
        records[env] = {"rr": [], "no_rr": []}
        for seed in options.seeds:
            for rr in (True, False):
                record = run_seed(env, seed, rr, options.runs_root, options.full, env_extra[env], options.vaes_from,
                                  options.folds if env in FOLDED_ENVS else 0)
                records[env]["rr" if rr else "no_rr"].append(record)
                print(f"{env} seed {seed} {'RR' if rr else 'no RR'}: success per episode "
                      f"{record['evaluation']['success']}", flush=True)
    maps = {}
    if "point_robot_sparse" in options.envs:
        maps = {("rr" if rr else "no_rr"): belief_reward_map("point_robot_sparse", options.seeds[0], rr,
                                                             options.runs_root, options.full, extra,
                                                             options.vaes_from)
                for rr in (True, False)}
    markdown = table(records)
    clearly_better = verdict(records)
    run_seconds = sum(r.get("seconds") or 0.0 for by_tag in records.values() for runs in by_tag.values() for r in runs)
    markdown += "\n\nRR clearly better in episode 2 (gap > 0.1 and > the std over seeds): " + ", ".join(
        f"{env}: {'yes' if ok else 'no'}" for env, ok in clearly_better.items())
    markdown += f"\n\nCompute: {run_seconds / 60:.1f} min for all runs (collection, VAE, agent, evaluation)."
    print(markdown)
    options.out.mkdir(parents=True, exist_ok=True)
    plot(records, maps, options.out / "borel_results.png")
    if options.folds and "gridworld" in records:
        plot_grid_cells(records["gridworld"], options.out / "borel_results_grid_cells.png")
    summary = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/borel_results.py " + shlex.join(argv or sys.argv[1:]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "seconds": time.perf_counter() - start,
        "configuration": "--small" if not options.full else "full", "extra": extra,
        "grid_extra": shlex.split(options.grid_extra), "folds": options.folds,
        "run_seconds_total": run_seconds, "rr_clearly_better": clearly_better,
        "runs": {env: {tag: [{"seed": r["args"]["seed"], "success": r["evaluation"]["success"],
                              "return": r["evaluation"]["return"], "seconds": r.get("seconds"),
                              "tasks": r["evaluation"]["tasks"],
                              "per_task_success": r["evaluation"]["per_task_success"]} for r in runs]
                       for tag, runs in by_tag.items()} for env, by_tag in records.items()},
        "belief_reward_map": "borel_belief_map.json",
    }
    atomic_write_text(options.out / "borel_results.json", json.dumps(summary, indent=1))
    atomic_write_text(options.out / "borel_belief_map.json", json.dumps(maps, separators=(",", ":")))
    atomic_write_text(options.out / "borel_results.md", f"# BOReL: reward relabelling, held-out tasks\n\n"
                      f"`{summary['command']}`\n\n{markdown}\n{kept_notes(options.out / 'borel_results.md')}")
    return summary


if __name__ == "__main__":
    main()
