"""Flags of the four BOReL scripts: one typed dataclass, per-env defaults from the original's configs, ``--small``.

The original keeps one argparse file per env type and script (data_collection_config/, vae_config/, offline_config/,
online_config/) with untyped booleans (``--hindsight-relabelling False`` was truthy). Here every script shares
:class:`Args`; a flag not given takes the value of the env type's original config, or of its ``--small`` config
(minutes on a CPU) with ``--small``. Precedence: a flag given > ``--small`` > the env type's default > the field's
default. Booleans are typed: ``--flag``, ``--flag true`` and ``--flag false`` mean what they say.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlkit.envs.meta.registry import META_ENV_TYPES, meta_env_spec

DISCRETE_ENV_TYPES = ("gridworld",)


@dataclass
class Args:
    env_type: str = "gridworld"
    """The domain: gridworld, point_robot_sparse, point_robot_wind, escape_room, cheetah_vel, ant_semicircle_sparse."""
    seed: int = 73
    """Seed of torch/numpy and of the task draws (the data's tasks come from --data-seed)."""
    small: bool = False
    """Use the env type's small configuration (runs end to end in minutes on a CPU)."""
    data_dir: Path | None = None
    """Folder of per-task folders (default: $RLKIT_DATA_DIR/borel/ENV_TYPE/AGENT)."""
    run_dir: Path | None = None
    """Where checkpoints, metrics and results go (default: runs/borel/ENV_TYPE/seed_SEED)."""
    vae_path: Path | None = None
    """VAE checkpoint of train_vae_offline.py, read by train_offline_agent.py (default: RUN_DIR/vae_{rr,no_rr}.pt)."""
    progress: bool = True
    """Show progress bars (where stderr is a terminal)."""

    # ---- data collection (train_single_agent.py) -------------------------------------------------------------------
    agent: str = "scripted"
    """Per-task data collector: scripted (goal-directed, annealed noise), random, or learned (DQN/SAC, the original)."""
    data_seed: int = 0
    """Seed of the training tasks and of the collection."""
    num_train_tasks: int | None = None
    """Tasks with data (original: grid 21 (16 here: the rest are held out), semi-circle 80, cheetah 100, ...)."""
    num_eval_tasks: int | None = None
    """Held-out tasks for evaluation (never among the training tasks)."""
    held_out_fold: int | None = None
    """Cross-validation on a finite task set (the grid): hold out fold K (0-based) of --folds. Data are collected on
    every goal; training drops the fold's goals and evaluation runs on exactly them (--num-*-tasks are ignored)."""
    folds: int = 4
    """Folds of --held-out-fold, drawn from --data-seed (the grid's 21 goals: 4 folds of 5 or 6)."""
    meta_episodes: int | None = None
    """Meta-episodes collected per task."""
    workers: int = 1
    """Processes collecting tasks in parallel."""

    # ---- belief VAE (train_vae_offline.py) -------------------------------------------------------------------------
    hindsight_relabelling: bool = True
    """Reward relabelling (RR) of the VAE's and the agent's data (BOReL's fix for MDP ambiguity)."""
    relabel_fraction: float = 1.0
    """With RR, the probability that a trajectory's first episode(s) are another task's, relabelled; the rest keep
    their own. The original's in-place mixing replaced about 1 - 1/e = 0.632 of them; at this size that did not
    help (docs/borel_data.md), so every trajectory is mixed by default."""
    vae_epochs: int | None = None
    """VAE passes over the tasks (original: 100); each pass is ceil(tasks / vae_tasks_batch) updates."""
    vae_tasks_batch: int = 8
    """Tasks per VAE update."""
    vae_trajs_per_task: int = 8
    """Trajectories (whole meta-episodes) per task per VAE update."""
    vae_lr: float = 3e-4
    """Adam learning rate of the VAE."""
    latent_dim: int = 5
    """Size of the task latent."""
    encoder_hidden: int | None = None
    """GRU width (grid 64, others 128)."""
    state_embed: int = 32
    """Embedding of s' in the encoder."""
    action_embed: int | None = None
    """Embedding of a in the encoder (grid 0: actions are ignored; 16 otherwise)."""
    reward_embed: int | None = None
    """Embedding of r in the encoder (grid 8, 16 otherwise)."""
    kl_weight: float = 0.05
    """Weight of the KL terms of the ELBO."""
    decode_reduction: str | None = None
    """How decoded steps are reduced: sum (the ELBO; the original's grid) or mean (the original's continuous envs)."""
    grid_reward_decoder: str = "cells"
    """Grid reward decoder: cells (25 Bernoulli logits from z, the original) or position (an MLP r(z, s') with squared
    error, varibad's multihead_for_reward=False; smooth in the cell's coordinates, so it can score unseen goals)."""

    # ---- offline agent (train_offline_agent.py) ---------------------------------------------------------------------
    num_iters: int | None = None
    """Training iterations (grid 1000, semi-circle 5000, cheetah 1000, ant 3000)."""
    rl_updates_per_iter: int | None = None
    """Gradient steps per iteration (grid 250, semi-circle 1000, cheetah 1000, ant 2000)."""
    meta_batch: int = 16
    """Tasks per update (distinct)."""
    batch_size: int = 256
    """Transitions per task per update."""
    hidden_sizes: tuple[int, ...] | None = None
    """Widths of the Q / policy networks (grid 64 64, semi-circle 128 128, cheetah/ant 256 256)."""
    lr: float = 3e-4
    """Adam learning rate of the agent (actor, critics, alpha)."""
    gamma: float | None = None
    """Discount (semi-circle 0.9, others 0.99)."""
    tau: float = 0.005
    """Polyak rate of the target networks."""
    entropy_alpha: float | None = None
    """SAC's entropy coefficient (semi-circle 0.01, cheetah/ant 0.2)."""
    automatic_entropy_tuning: bool = False
    """Learn SAC's alpha (crashed in the original, bug 6)."""
    double_dqn: bool = False
    """Double-DQN target for the grid agent."""
    agent_lr_schedule: str = "constant"
    """The agent's learning rate over training: constant (the original) or cosine (annealed to 0)."""
    agent_beliefs: str = "relabelled"
    """With RR, where the agent's beliefs come from: ``relabelled`` encodes each relabelled meta-episode (beliefs
    consistent with its rewards); ``own`` encodes the stored meta-episodes with their own rewards and then mixes
    episodes, hyper-states and all (the original's order, docs/borel_rl.md)."""
    cql_weight: float = 0.0
    """CQL penalty weight (0 = plain SAC/DQN as BOReL; the original's ant ablation used 2)."""
    goal_hits_as_terminals: bool = False
    """Reproduce the original's bug 4 (goal hits cut bootstrapping and reset the belief in relabelling)."""
    eval_interval: int = 0
    """Evaluate every this many iterations (0: only at the end)."""

    # ---- online variant (online_training.py) ------------------------------------------------------------------------
    online_iters: int | None = None
    """Online iterations (each collects meta-episodes, then trains the VAE and the agent)."""
    online_rollouts_per_iter: int = 5
    """Meta-episodes collected per online iteration."""
    online_init_rollouts: int = 10
    """Random meta-episodes collected before training."""
    online_vae_updates_per_iter: int = 20
    """VAE updates per online iteration."""
    online_rl_updates_per_iter: int | None = None
    """Agent updates per online iteration."""
    online_epsilon: float = 0.1
    """Exploration of the online grid agent (epsilon-greedy); SAC explores by sampling."""


# Per env type: the original's offline/vae configs (None fields above resolve here).
_CONTINUOUS = dict(encoder_hidden=128, action_embed=16, reward_embed=16, decode_reduction="mean")
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "gridworld": dict(num_train_tasks=16, num_eval_tasks=5, meta_episodes=510, vae_epochs=100, encoder_hidden=64,
                      action_embed=0, reward_embed=8, decode_reduction="sum", num_iters=1000, rl_updates_per_iter=250,
                      hidden_sizes=(64, 64), gamma=0.99, entropy_alpha=0.01, online_iters=500,
                      online_rl_updates_per_iter=250),
    "point_robot_sparse": dict(_CONTINUOUS, num_train_tasks=80, num_eval_tasks=20, meta_episodes=650, vae_epochs=100,
                               num_iters=5000, rl_updates_per_iter=1000, hidden_sizes=(128, 128), gamma=0.9,
                               entropy_alpha=0.01, online_iters=2000, online_rl_updates_per_iter=1000),
    "point_robot_wind": dict(_CONTINUOUS, num_train_tasks=40, num_eval_tasks=10, meta_episodes=400, vae_epochs=100,
                             num_iters=1000, rl_updates_per_iter=1000, hidden_sizes=(128, 128), gamma=0.9,
                             entropy_alpha=0.01, online_iters=1000, online_rl_updates_per_iter=500),
    "escape_room": dict(_CONTINUOUS, num_train_tasks=60, num_eval_tasks=5, meta_episodes=400, vae_epochs=100,
                        num_iters=2000, rl_updates_per_iter=1000, hidden_sizes=(128, 128), gamma=0.9,
                        entropy_alpha=0.01, online_iters=1000, online_rl_updates_per_iter=500),
    "cheetah_vel": dict(_CONTINUOUS, num_train_tasks=100, num_eval_tasks=20, meta_episodes=2000, vae_epochs=100,
                        num_iters=1000, rl_updates_per_iter=1000, hidden_sizes=(256, 256), gamma=0.99,
                        entropy_alpha=0.2, online_iters=1000, online_rl_updates_per_iter=1000),
    "ant_semicircle_sparse": dict(_CONTINUOUS, num_train_tasks=80, num_eval_tasks=20, meta_episodes=2000,
                                  vae_epochs=100, num_iters=3000, rl_updates_per_iter=2000, hidden_sizes=(256, 256),
                                  gamma=0.99, entropy_alpha=0.2, online_iters=1000, online_rl_updates_per_iter=1000),
}
# Small configurations: minutes end to end on one CPU core (scripted data, few updates).
SMALL: dict[str, dict[str, Any]] = {
    # grid: the VAE at lr 3e-3 (600 updates at 3e-4 left the belief blind to goal hits), r(z, s') so the belief can
    # score goals without training data (the per-cell decoder drives their logits to -inf), 15k agent updates at 1e-3
    "gridworld": dict(meta_episodes=40, vae_epochs=300, vae_lr=3e-3, grid_reward_decoder="position",
                      encoder_hidden=32, num_iters=150, rl_updates_per_iter=100, lr=1e-3, batch_size=64,
                      online_iters=30, online_rl_updates_per_iter=50),
    # semi-circle: 50 VAE epochs at 3e-4 (150 updates) left a belief whose reward map stayed flat along the arc;
    # 500 epochs at 3e-3 fix that, and the agent needs 20,000 updates at 1e-3 (2,000 at 3e-4 left the data region);
    # 50 held-out tasks, since with 10 one seed's success has a standard error of about 0.15 (evaluation takes seconds)
    "point_robot_sparse": dict(num_train_tasks=24, num_eval_tasks=50, meta_episodes=30, vae_epochs=500, vae_lr=3e-3,
                               vae_trajs_per_task=4, decode_reduction="sum", encoder_hidden=64, num_iters=200,
                               rl_updates_per_iter=100, lr=1e-3, batch_size=64, hidden_sizes=(64, 64),
                               online_iters=30, online_rl_updates_per_iter=50),
}
for _env_type in ("point_robot_wind", "escape_room"):  # the semi-circle's earlier, shorter training (not re-tuned)
    SMALL[_env_type] = dict(SMALL["point_robot_sparse"], num_train_tasks=16, num_eval_tasks=5, vae_epochs=50,
                            vae_lr=3e-4, num_iters=20, lr=3e-4)
for _env_type in ("cheetah_vel", "ant_semicircle_sparse"):
    SMALL[_env_type] = dict(num_train_tasks=8, num_eval_tasks=2, meta_episodes=3, vae_epochs=10, vae_trajs_per_task=2,
                            encoder_hidden=32, num_iters=5, rl_updates_per_iter=20, meta_batch=4, batch_size=64,
                            hidden_sizes=(64, 64), online_iters=3, online_rollouts_per_iter=1, online_init_rollouts=2,
                            online_rl_updates_per_iter=20)

BOOL_WORDS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def parse_bool(text: str) -> bool:
    """``true/false`` (also 1/0, yes/no, on/off, any case) as a bool; anything else is an error."""
    value = BOOL_WORDS.get(str(text).strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal after it), read from the class source."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    return {node.target.id: " ".join(str(doc.value.value).split())
            for node, doc in zip(body, body[1:])
            if isinstance(node, ast.AnnAssign) and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)}


def _base_type(hint: Any) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def build_parser(description: str = "BOReL") -> argparse.ArgumentParser:
    """Flags named as the original's (``--env-type``); defaults suppressed so the namespace holds what was given."""
    parser = argparse.ArgumentParser(description=description, argument_default=argparse.SUPPRESS)
    docs, hints = _field_docs(Args), typing.get_type_hints(Args)
    for field in dataclasses.fields(Args):
        kind = _base_type(hints[field.name])
        per_env = field.default is None and any(field.name in d for d in ENV_DEFAULTS.values())
        default = "env type's" if per_env else field.default
        options: dict[str, Any] = {"dest": field.name, "help": f"{docs.get(field.name, '')} (default: {default})"}
        if kind is bool:
            options.update(type=parse_bool, nargs="?", const=True, metavar="true|false")
        elif typing.get_origin(kind) is tuple:
            options.update(type=int, nargs="+", metavar="INT")
        else:
            options.update(type=kind, metavar=getattr(kind, "__name__", "VALUE").upper())
        parser.add_argument(f"--{field.name.replace('_', '-')}", **options)
    return parser


def parse_args(argv: list[str] | None = None, description: str = "BOReL") -> Args:
    """Parse and resolve the flags into a complete :class:`Args` (no None left but the paths and
    --held-out-fold), validated."""
    given = vars(build_parser(description).parse_args(argv))
    return resolve(**given)


def resolve(**given: Any) -> Args:
    """An :class:`Args` from given values, filling the rest from ``--small`` and the env type's defaults."""
    env_type = given.get("env_type", Args.env_type)
    if env_type not in ENV_DEFAULTS:
        raise ValueError(f"unknown --env-type {env_type!r}; known: {', '.join(ENV_DEFAULTS)}")
    meta_env_spec(env_type)  # the env registry knows it too
    values = {field.name: field.default for field in dataclasses.fields(Args)}
    values.update({k: v for k, v in ENV_DEFAULTS[env_type].items()})
    if given.get("small", False):
        values.update(SMALL[env_type])
    values.update(given)
    if isinstance(values["hidden_sizes"], list):
        values["hidden_sizes"] = tuple(values["hidden_sizes"])
    for name in ("data_dir", "run_dir", "vae_path"):
        if values[name] is not None:
            values[name] = Path(values[name])
    args = Args(**values)
    validate(args)
    return args


def validate(args: Args) -> None:
    """Reject settings the scripts cannot use, naming the flag."""
    positive = ("num_train_tasks", "num_eval_tasks", "meta_episodes", "vae_epochs", "vae_tasks_batch",
                "vae_trajs_per_task", "latent_dim", "encoder_hidden", "num_iters", "rl_updates_per_iter",
                "meta_batch", "batch_size", "workers", "online_iters", "online_rollouts_per_iter",
                "online_rl_updates_per_iter")
    for name in positive:
        value = getattr(args, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive int; got {value!r}")
    if args.agent not in ("scripted", "random", "learned"):
        raise ValueError(f"--agent must be scripted, random or learned; got {args.agent!r}")
    if args.grid_reward_decoder not in ("cells", "position"):
        raise ValueError(f"--grid-reward-decoder must be cells or position; got {args.grid_reward_decoder!r}")
    if args.decode_reduction not in ("sum", "mean"):
        raise ValueError(f"--decode-reduction must be sum or mean; got {args.decode_reduction!r}")
    if not 0.0 <= args.gamma <= 1.0 or not 0.0 < args.tau <= 1.0 or args.cql_weight < 0:
        raise ValueError(f"--gamma {args.gamma} (in [0, 1]), --tau {args.tau} (in (0, 1]), "
                         f"--cql-weight {args.cql_weight} (>= 0) out of range")
    if args.agent_lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"--agent-lr-schedule must be constant or cosine; got {args.agent_lr_schedule!r}")
    if args.agent_beliefs not in ("relabelled", "own"):
        raise ValueError(f"--agent-beliefs must be relabelled or own; got {args.agent_beliefs!r}")
    if not 0.0 <= args.relabel_fraction <= 1.0:
        raise ValueError(f"--relabel-fraction must be in [0, 1]; got {args.relabel_fraction}")
    if not args.hidden_sizes or any(size < 1 for size in args.hidden_sizes):
        raise ValueError(f"--hidden-sizes must be positive ints; got {args.hidden_sizes}")
    if args.held_out_fold is not None:
        goals = getattr(meta_env_spec(args.env_type).family(), "goals", None)
        if goals is None:
            raise ValueError(f"--held-out-fold needs a finite task set (gridworld); --env-type {args.env_type} "
                             "draws its tasks from a continuum, so every evaluation task is already unseen")
        if not 2 <= args.folds <= len(goals):
            raise ValueError(f"--folds must be in [2, {len(goals)}] (the goals of {args.env_type}); got {args.folds}")
        if not 0 <= args.held_out_fold < args.folds:
            raise ValueError(f"--held-out-fold must be in [0, {args.folds - 1}] (--folds {args.folds}); "
                             f"got {args.held_out_fold}")


def known_env_types() -> tuple[str, ...]:
    """The env types the scripts run (all of the meta-env registry's but the dense ant)."""
    return tuple(t for t in META_ENV_TYPES if t in ENV_DEFAULTS)
