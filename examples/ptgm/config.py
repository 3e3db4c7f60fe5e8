"""Arguments of the PTGM scripts (generate_codebook, train_prior, train_lowlevel, train_hrl): one dataclass.

The defaults are the original's (namespacebilibili/PTGM-Kitchen; /work/shared/reference/PTGM.md): 50 codes fitted
on every 6th state, a high-level interval of k = 10 env steps, prior and low level trained on windows of 128 with
RAdam 1e-3, a prior-KL discrete SAC high level with KL(prior || pi), clamp 100, target KL 5, alpha 1, Adam 3e-4,
grad clip 10, batch 256, 5 x 256 critics, tau 5e-3, gamma 0.99, 5000 warm-up high-level transitions, 1.5M env steps.
``--small`` switches to a configuration that runs all four stages on maze2d-medium in minutes on a CPU. Every
stage reads and writes its artefacts in ``--run-dir`` (codebook.pt, prior.pt, lowlevel.pt, hrl_<method>_s<seed>/).

Precedence: a flag given > ``--small`` > the field's default below.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import textwrap
import typing
from dataclasses import dataclass
from typing import Any

DOMAINS = ("maze", "kitchen")
METHODS = ("ptgm", "no_prior", "flat_sac")


@dataclass
class PTGMConfig:
    # ---- data and domain ------------------------------------------------------------------------------------------
    domain: str = "maze"
    """"maze" (maze2d or antmaze data, goal = xy, a sparse goal-reaching task) or "kitchen" (21 goal dims, the 4-task
    kitchen)."""
    dataset: str = "maze2d-medium-v1"
    """Dataset name or path (maze2d-*-v1 or antmaze-*-v2: build with `python -m rlkit.data build NAME`); kitchen: a
    D4RL hdf5 path or name, or 'minari:D4RL/kitchen/mixed-v2' for a local Minari dataset."""
    run_dir: str = "runs/ptgm"
    """Folder of the artefacts every stage reads and writes."""
    seed: int = 0
    """Seed of torch, numpy and the envs (the codebook has its own, --codebook-seed)."""
    # ---- codebook ------------------------------------------------------------------------------------------------
    num_codes: int = 50
    """Codebook size K = the high level's number of actions."""
    codebook_stride: int = 6
    """Every how many steps a state becomes codebook input."""
    codebook_seed: int = 1
    """Seed of k-means++ (the original: KMeans random_state 1)."""
    codebook_metric: str = "euclidean"
    """k-means metric: "euclidean" or "cosine" (both in the standardised goal space)."""
    # ---- pretraining (prior and low level) -----------------------------------------------------------------------
    horizon: int = 10
    """k: goal windows of k states before the goal; also env steps per code (the high-level interval)."""
    pretrain_batch_size: int = 128
    """Goal windows per gradient step (each gives k training pairs)."""
    pretrain_lr: float = 1e-3
    """RAdam learning rate of the prior and the low level."""
    pretrain_steps: int = 100_000
    """Gradient steps of each of the prior and the low level."""
    hidden: int = 128
    """Width of the prior's and the low level's trunk."""
    num_layers: int = 3
    """Linear + BatchNorm + LeakyReLU blocks of the trunk."""
    label_metric: str = "cosine"
    """Prior labels: "cosine" (argmax cosine of raw goal and raw codes, the original) or "codebook" (the codebook's
    own nearest code; use it for maze xy goals, whose raw cosine only measures the angle around the maze centre)."""
    # ---- high level ----------------------------------------------------------------------------------------------
    method: str = "ptgm"
    """"ptgm", "no_prior" (uniform prior, fresh policy: discrete SAC over the codes) or "flat_sac" (TorchRL SAC on
    the raw action space, no pretraining); --no-prior and --flat-sac are shortcuts."""
    task: str = "medium-bottom-right"
    """Maze task name (rlkit.envs.goal_tasks.MAZE_GOAL_TASKS; antmaze-* tasks with antmaze data, e.g.
    antmaze-umaze-bottom-left); ignored for kitchen."""
    start: str = "fixed"
    """Maze starts: "fixed" (the task's start cell) or "sampled" (any free cell --min-start-cells or more moves from
    the goal, as D4RL's maze2d evaluation draws a random start cell)."""
    min_start_cells: int = 2
    """With --start sampled: the fewest moves (cells) between a start and the goal."""
    max_episode_steps: int | None = None
    """Env steps per episode (maze: D4RL's for the maze and agent; kitchen 280)."""
    env_steps: int = 1_500_000
    """Env-step budget of the online phase (the same for every method)."""
    warmup: int = 5000
    """High-level transitions collected (with the prior-initialised policy) before the first update; flat SAC:
    warmup * horizon env steps with uniform random actions."""
    batch_size: int = 256
    """High-level transitions per update."""
    replay_size: int = 1_000_000
    """Replay capacity."""
    lr: float = 3e-4
    """Adam learning rate of policy, critics and alpha."""
    grad_clip: float = 10.0
    """Gradient-norm clip of policy and critics."""
    gamma: float = 0.99
    """Discount per high-level step (flat SAC: per env step)."""
    tau: float = 5e-3
    """Polyak rate of the target critics."""
    critic_hidden: tuple[int, ...] = (256, 256, 256, 256, 256)
    """Hidden layers of each critic (flat SAC: of its actor and critics too)."""
    kl_direction: str = "prior_pi"
    """"prior_pi" = KL(prior || pi) (the Kitchen original) or "pi_prior" = KL(pi || prior)."""
    kl_clamp: float | None = 100.0
    """Clamp of each state's KL (the original: 100)."""
    target_kl: float = 5.0
    """Target KL of the learned alpha (no_prior: at most half of log K, the most KL(pi || uniform) can give)."""
    alpha_init: float = 1.0
    """Initial alpha."""
    updates_per_step: int = 1
    """Gradient updates per high-level step after warm-up."""
    flat_update_every: int = 1
    """Flat SAC: env steps per gradient update."""
    eval_every: int = 50_000
    """Env steps between evaluations."""
    eval_episodes: int = 10
    """Episodes per evaluation (codes sampled from pi; flat SAC: its mean action)."""
    progress: bool = True
    """Show progress bars."""
    wandb: bool = False
    """Also log to Weights & Biases (WANDB_MODE=offline works without network)."""
    wandb_project: str = "rlkit-ptgm"
    """wandb project name."""
    small: bool = False
    """The small configuration: the maze in minutes on a CPU (see SMALL)."""


SMALL = dict(
    pretrain_steps=1500, pretrain_batch_size=64, label_metric="codebook", task="medium6-centre",
    env_steps=20_000, warmup=200, batch_size=128, replay_size=100_000, critic_hidden=(128, 128), eval_every=4000,
    eval_episodes=5, flat_update_every=10, alpha_init=0.05,
)
"""``--small``: all four stages on maze2d-medium in a few minutes on a 2-core CPU."""
SHORTCUTS = {"no_prior": "--no-prior", "flat_sac": "--flat-sac"}


def field_docs(cls: type = PTGMConfig) -> dict[str, str]:
    """The docstring under each field (for --help)."""
    docs: dict[str, str] = {}
    name, parts = None, None
    for line in textwrap.dedent(inspect.getsource(cls)).splitlines():
        text = line.strip()
        if parts is not None:  # inside a multi-line docstring
            parts.append(text)
        elif name and text.startswith('"""'):
            parts = [text[3:]]
        elif ":" in text and "=" in text and not text.startswith(("#", '"')):
            name = text.split(":")[0]
            continue
        if parts is not None and parts[-1].endswith('"""'):
            docs[name] = " ".join(parts)[:-3].strip()
            name, parts = None, None
    return docs


def build_parser(description: str = "") -> argparse.ArgumentParser:
    """One flag per field (``--num-codes`` and ``--num_codes`` both work), defaults suppressed so that
    ``--small`` can tell a flag given from one left alone."""
    parser = argparse.ArgumentParser(description=description, argument_default=argparse.SUPPRESS)
    hints, docs = typing.get_type_hints(PTGMConfig), field_docs()
    for field in dataclasses.fields(PTGMConfig):
        flags = [f"--{field.name.replace('_', '-')}"] + ([f"--{field.name}"] if "_" in field.name else [])
        hint, help_text = hints[field.name], f"{docs.get(field.name, '')} (default: {field.default!r})"
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if args and hint is not tuple else hint
        if hint is bool:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, help=help_text)
        elif typing.get_origin(hint) is tuple:
            parser.add_argument(*flags, type=int, nargs="+", help=help_text)
        elif type(None) in args:
            parser.add_argument(*flags, type=_optional(base), help=help_text + "; 'none' for None")
        else:
            parser.add_argument(*flags, type=base, help=help_text)
    for method, flag in SHORTCUTS.items():
        parser.add_argument(flag, dest="method", action="store_const", const=method, help=f"= --method {method}")
    return parser


def _optional(base: type) -> Any:
    def convert(text: str) -> Any:
        return None if text.lower() == "none" else base(text)

    convert.__name__ = base.__name__
    return convert


def parse_args(argv: list[str] | None = None, description: str = "") -> PTGMConfig:
    """Flags -> a validated ``PTGMConfig`` (``--small`` fills what is not given)."""
    given = vars(build_parser(description).parse_args(argv))
    values = (SMALL if given.get("small") else {}) | given
    if "critic_hidden" in values:
        values["critic_hidden"] = tuple(values["critic_hidden"])
    config = PTGMConfig(**values)
    validate(config)
    return config


def validate(config: PTGMConfig) -> None:
    """Clear errors for values the scripts cannot run with."""
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)

    need(config.domain in DOMAINS, f"--domain {config.domain!r}; expected one of {DOMAINS}")
    need(config.method in METHODS, f"--method {config.method!r}; expected one of {METHODS}")
    need(config.kl_direction in ("prior_pi", "pi_prior"), f"--kl-direction {config.kl_direction!r}; expected "
         "'prior_pi' or 'pi_prior'")
    need(config.label_metric in ("cosine", "codebook"), f"--label-metric {config.label_metric!r}; expected "
         "'cosine' or 'codebook'")
    for name in ("num_codes", "codebook_stride", "horizon", "pretrain_batch_size", "pretrain_steps", "hidden",
                 "env_steps", "batch_size", "replay_size", "updates_per_step", "flat_update_every", "eval_every",
                 "eval_episodes"):
        need(getattr(config, name) >= 1, f"--{name.replace('_', '-')} must be >= 1; got {getattr(config, name)}")
    need(config.start in ("fixed", "sampled"), f"--start {config.start!r}; expected 'fixed' or 'sampled'")
    need(config.warmup >= 0, f"--warmup must be >= 0; got {config.warmup}")
    need(config.num_layers >= 0, f"--num-layers must be >= 0; got {config.num_layers}")
    need(config.target_kl > 0 and config.alpha_init > 0, "--target-kl and --alpha-init must be > 0")
