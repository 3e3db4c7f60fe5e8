"""Settings of ``examples/gom/train.py`` and ``train_w.py``: the original's hydra configs, as typed dataclasses.

The original (WEIRDLabUW/gom) is driven by hydra: ``python train.py env_id=antmaze-umaze-v2 exp_id=benchmark seed=0``,
``--config-name atrl_kitchen.yaml``, ``planning.planner=random_shooting``. ``parse_overrides`` accepts that syntax
(``key=value`` and nested ``a.b=value``; ``--config-name NAME[.yaml]`` or ``config=NAME`` picks the base config) with
no hydra dependency, converts each value to its field's type and names the key and the expected type on an error.

Base configs: ``atrl`` (configs/atrl.yaml, the default), ``atrl_kitchen`` (reward_max 4, guidance 0.001),
``atrl_train_w`` (50k w steps, no eval during training), ``atrl_roboverse`` (accepted, but its datasets are not
available here) and rlkit's ``small``: maze2d-umaze-v1 on a 2-core CPU in a few minutes (see ``small_config``).
Fields below the original's carry "(rlkit)" in their docstring.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLANNERS = ("guided_diffusion", "random_shooting")
W_FITS = ("lstsq", "adam")
_ENV_PATTERNS = {
    "maze2d": re.compile(r"^maze2d-(umaze|medium|large)(-dense)?-v1$"),
    "antmaze": re.compile(r"^antmaze-(umaze|umaze-diverse|medium-play|medium-diverse|large-play|large-diverse)-v2$"),
    "kitchen": re.compile(r"^kitchen-(partial|mixed|complete)-v0$"),
}


class ConfigError(ValueError):
    """A command-line override or a config value is invalid; the message names the key and what was expected."""


@dataclass
class FeatConfig:
    type: str = "fourier"
    """Cumulants: "fourier" ([sin f, cos f, 1] of a frozen random MLP); the only type implemented here."""
    dim: int = 128
    """Random features (sin and cos of dim/2 frequencies each, plus a constant: dim + 1 cumulants)."""
    hidden_dim: int = 2048
    """(rlkit) Width of the random MLP (the original's 64 groups x 32)."""
    groups: int = 64
    """(rlkit) Groups of the random MLP's grouped layers; must divide hidden_dim and dim/2."""


@dataclass
class TrainingConfig:
    num_steps: int = 100_000
    """Gradient steps (the original rounds down to whole epochs of the DataLoader; here every step is counted)."""
    eval_every: int = 5000
    """Steps between evaluations."""
    save_every: int = 5000
    """Steps between checkpoints."""
    batch_size: int = 2048
    """Transitions per step."""
    num_workers: int = 8
    """Accepted for the original's commands; batches are drawn from resident tensors, so no workers are used."""
    resume: bool = False
    """Continue from the newest checkpoint in logdir (bit-identical)."""
    log_psi_video: bool = False
    """Accepted for the original's commands; videos are not rendered here (must stay False)."""
    weighted_regression: bool = False
    """Weight the w regression by r + mean(r) (the original's option)."""
    log_every: int = 100
    """(rlkit) Steps between rows of metrics.csv."""


@dataclass
class ModelConfig:
    embed_dim: int = 256
    """Width of the sinusoidal time embedding and of the condition embedding."""
    embed_type: str = "positional"
    """Time embedding; "positional" (sinusoidal) is the only one implemented."""
    ema_rate: float = 0.995
    """EMA of the psi and policy parameters (the EMA psi samples the Bellman targets and plans)."""
    lr: float = 3e-4
    """Peak learning rate (warmup then cosine decay) of psi and the policy; also of w's Adam."""
    wd: float = 1e-6
    """AdamW weight decay."""
    warmup_steps: int = 500
    """Linear warmup steps."""
    sde: str = "vpsde"
    """Noise process; only "vpsde" (discrete VP, betas 1e-4..0.02 over num_steps)."""
    beta_min: float = 0.1
    """VP beta_min (continuous form; the discrete betas are beta_min/num_steps..beta_max/num_steps)."""
    beta_max: float = 20.0
    """VP beta_max."""
    num_steps: int = 1000
    """Diffusion steps of the noise schedule."""
    continuous: bool = False
    """Continuous-time training; only False (discrete) is implemented."""
    down_dims: tuple[int, ...] = (256, 512, 1024)
    """(rlkit) Widths of the denoiser's down path (the original's fixed U-Net)."""
    grad_rule: str = "normalize"
    """(rlkit) "normalize": the original's rescaling of every gradient to global norm 1; "clip": clip at 1."""
    compile: bool = False
    """(rlkit) torch.compile the train step (worth it on GPU and for the full-size nets; off on CPU by default)."""


@dataclass
class SamplingConfig:
    predictor: str = "ddim"
    """Sampler; only "ddim"."""
    corrector: str = "none"
    """Corrector; only "none"."""
    n_inference_steps: int = 50
    """DDIM steps of every sample (Bellman targets, planning, actions)."""
    eta: float = 0.0
    """DDIM eta; only 0 (deterministic DDIM) is implemented."""


@dataclass
class PlanningConfig:
    planner: str = "guided_diffusion"
    """"guided_diffusion" (one psi sample steered along w) or "random_shooting" (best of num_samples by psi.w)."""
    guidance_coef: float = 0.5
    """Scale of the guidance w * 0.5 * psi_range * coef (0.5 antmaze, 0.001 kitchen, 0.05 roboverse)."""
    num_samples: int = 1000
    """Psi samples per step for random shooting."""
    num_elites: int = 1
    """Best samples averaged into psi* by random shooting."""


@dataclass
class EvalConfig:
    num_episodes: int = 10
    """Episodes per evaluation."""
    num_envs: int = 10
    """(rlkit) Parallel env copies (one batched planner call per step for all of them)."""
    max_steps: int | None = None
    """(rlkit) Cut episodes after this many steps (None: the env's own time limit)."""


@dataclass
class Config:
    algo: str = "atrl"
    """Name of the algorithm in the original's run paths."""
    seed: int = 0
    """Seed of torch, numpy, python and the evaluation envs."""
    env_id: str = "antmaze-medium-diverse-v2"
    """Dataset name: maze2d-*-v1, antmaze-*-v2 or kitchen-*-v0 (built locally: python -m rlkit.data build NAME)."""
    exp_id: str = "default"
    """Experiment name in the run path."""
    logdir: str | None = None
    """Run folder; default logdir/<algo>/<env_id>/<exp_id>/<seed> as the original's hydra run dir."""
    gamma: float = 0.99
    """Discount of the outcomes psi."""
    reward_min: float = 0.0
    """Smallest reward (the original uses it only for value histograms)."""
    reward_max: float = 1.0
    """Largest reward (idem)."""
    feat: FeatConfig = field(default_factory=FeatConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # ---- rlkit's own -------------------------------------------------------------------------------------------
    config_name: str = "atrl"
    """(rlkit) The base config these values started from."""
    dataset_path: str | None = None
    """(rlkit) A D4RL-layout hdf5 file to read instead of looking env_id up."""
    max_transitions: int | None = None
    """(rlkit) Use only the first N rows of the dataset (None: all)."""
    goal: tuple[float, ...] | None = None
    """(rlkit) Goal (x, y) of the relabelled goal reward (antmaze/maze2d); None: the env's evaluation goal."""
    goal_scale: float | None = None
    """(rlkit) Distance scale of the goal reward exp(-d / scale): None = 20 (the original's antmaze), 1 for maze2d."""
    success_radius: float = 0.5
    """(rlkit) Distance to the goal that counts as success in evaluation (D4RL's 0.5)."""
    done_mask: bool = False
    """(rlkit) Stop the Bellman target at terminal transitions (the original never does)."""
    kitchen_next_is_current: bool = False
    """(rlkit) Reproduce the original's kitchen bug s' = s (see docs/deviations_gom.md)."""
    w_fit: str = "lstsq"
    """(rlkit, train_w.py) "lstsq": closed-form least squares on w_fit_samples pairs (dispo); "adam": the original's
    joint Adam for training.num_steps steps."""
    w_fit_samples: int = 10_000
    """(rlkit, train_w.py) Random (phi(s'), r) pairs for the closed-form fit (None-like 0: all rows)."""
    w_ridge: float = 0.0
    """(rlkit, train_w.py) Ridge penalty of the closed-form fit."""
    gom_path: str | None = None
    """(rlkit, train_w.py) Saved GOM to refit; default <logdir>/gom.pt."""
    device: str = "cpu"
    """(rlkit) Torch device ("cpu", "cuda", "auto")."""
    progress: bool | None = None
    """(rlkit) Progress bars (None: when stderr is a terminal)."""
    wandb: bool = False
    """(rlkit) Also log to Weights & Biases (offline unless credentials exist)."""

    @property
    def run_dir(self) -> Path:
        if self.logdir is not None:
            return Path(self.logdir)
        return Path("logdir") / self.algo / self.env_id / self.exp_id / str(self.seed)

    @property
    def suite(self) -> str:
        return self.env_id.split("-", 1)[0]


# ---- base configs ---------------------------------------------------------------------------------------------------
def small_config() -> Config:
    """maze2d-umaze-v1 in about 15 minutes on a 2-core CPU.

    Why these sizes: maze2d's observation is 4-d and the umaze has 7 free cells, so a denoiser of widths (64, 128)
    with 64-d embeddings (~0.1M parameters instead of 25M) and 33 cumulants (16 frequencies over a 256-wide random
    MLP) represent it; batch 256 and 8 DDIM steps make a step ~25x cheaper than 50 steps at batch 2048, and 8 steps
    is where DDIM samples of such a small model stop changing much. gamma 0.97 (an outcome horizon of ~33 steps, ~1
    unit of travel: the data's point mass moves ~0.03 per step and needs ~190 steps from one end of the U to the
    other); goal rewards use scale 1 (maze2d cells are 1 unit wide). EMA rate 0.97 instead of the original's 0.995:
    the EMA copy is the Bellman target, so psi can only be ~steps * (1 - ema_rate) backups from its initialisation;
    with 0.995 and 4000 steps that is ~20 backups (< one horizon of 33; the constant cumulant's psi reached 19 of
    its exact 1 / (1 - gamma) = 33, benchmarks/results/gom_maze_goals.md), with 0.97 and 5000 steps at most ~150
    (it reached 25: the online network's own lag is then the limit). Random shooting uses 100 samples (1000 as
    the original costs ~10x the evaluation time on a CPU). Guidance coefficient
    0.05 (the original's roboverse value) instead of antmaze's 0.5: with these w, 0.5 makes the guidance vector's
    norm 23-38 in psi's [-1, 1] space, which drives 27% of the coordinates to the box's edge and predicted values
    to ~180, where no outcome of a reward <= 1 exceeds 1 / (1 - gamma) = 33. The guidance vector grows as
    1 / (1 - gamma) (psi's box does), so with ``gamma=0.99`` use ``planning.guidance_coef=0.0167`` for the same
    guidance; that run (90k steps) is the one whose planners come nearest the ends of the U (benchmarks/README.md,
    three training seeds: with every cell as the goal, guided diffusion 0.84 and random shooting 0.78; on the two
    ends and the right arm's middle, 0.72 and 0.63). Its 8 DDIM
    steps are for training's Bellman targets; acting with 32 (``sampling.n_inference_steps=32`` when evaluating a
    trained run; the original samples actions with 50) lifted the first run's success on the ends of the U.
    """
    config = Config(env_id="maze2d-umaze-v1", config_name="small", gamma=0.97, goal_scale=1.0)
    config.feat = FeatConfig(dim=32, hidden_dim=256, groups=16)
    config.model = dataclasses.replace(config.model, embed_dim=64, down_dims=(64, 128), warmup_steps=200,
                                       ema_rate=0.97)
    config.training = dataclasses.replace(config.training, num_steps=5000, eval_every=5000, save_every=1000,
                                          batch_size=256, log_every=100)
    config.sampling = dataclasses.replace(config.sampling, n_inference_steps=8)
    config.planning = dataclasses.replace(config.planning, num_samples=100, guidance_coef=0.05)
    config.eval = dataclasses.replace(config.eval, num_episodes=10)
    return config


def _atrl() -> Config:
    return Config()


def _atrl_kitchen() -> Config:
    config = Config(config_name="atrl_kitchen", reward_max=4.0)
    config.planning.guidance_coef = 0.001
    return config


def _atrl_train_w() -> Config:
    config = Config(config_name="atrl_train_w")
    config.training.num_steps, config.training.eval_every, config.training.save_every = 50_000, 50_001, 5000
    return config


def _atrl_roboverse() -> Config:
    config = Config(config_name="atrl_roboverse")
    config.feat.type = "dummy"
    config.planning.guidance_coef = 0.05
    return config


BASE_CONFIGS = {
    "atrl": _atrl,
    "atrl_kitchen": _atrl_kitchen,
    "atrl_train_w": _atrl_train_w,
    "atrl_roboverse": _atrl_roboverse,
    "small": small_config,
}


# ---- parsing --------------------------------------------------------------------------------------------------------
def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind).replace("typing.", ""))


def _convert(text: str, kind: Any, key: str) -> Any:
    """``text`` as a value of type ``kind`` (the dataclass annotation), or a ConfigError naming ``key``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null", "~") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(text, inner[0], key)
    if origin is tuple:
        body = text.strip()
        if body.startswith(("[", "(")) and body.endswith(("]", ")")):
            body = body[1:-1]
        items = [item.strip() for item in body.split(",") if item.strip()]
        return tuple(_convert(item, args[0], key) for item in items)
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        if kind is int:
            value = float(text) if re.fullmatch(r"[-+]?\d+(\.0*)?[eE][-+]?\d+", text) else int(text)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(text)
            return int(value)
        if kind is float:
            return float(text)
        if kind is str:
            return text.strip("'\"")
    except ValueError:
        raise ConfigError(f"{key}={text!r}: expected {_type_name(kind)}") from None
    raise ConfigError(f"{key}: unsupported field type {kind}")


def _field_types(obj: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(type(obj))
    return {f.name: hints[f.name] for f in dataclasses.fields(obj)}


def set_override(config: Config, key: str, text: str) -> None:
    """Set nested field ``key`` ("a.b.c") of ``config`` from ``text``, converted to the field's type."""
    target: Any = config
    parts = key.split(".")
    for depth, part in enumerate(parts):
        types_ = _field_types(target)
        if part not in types_:
            where = ".".join(parts[:depth]) or "the config"
            known = ", ".join(sorted(types_))
            raise ConfigError(f"unknown key {key!r}: {where} has no field {part!r} (fields: {known})")
        if depth == len(parts) - 1:
            if dataclasses.is_dataclass(getattr(target, part)):
                raise ConfigError(f"{key!r} is a group; set one of its fields ({key}.<field>=value)")
            setattr(target, part, _convert(text, types_[part], key))
            return
        target = getattr(target, part)
        if not dataclasses.is_dataclass(target):
            raise ConfigError(f"unknown key {key!r}: {'.'.join(parts[:depth + 1])} is a value, not a group")


def base_config(name: str) -> Config:
    stem = name[:-5] if name.endswith(".yaml") else name
    if stem not in BASE_CONFIGS:
        raise ConfigError(f"unknown config name {name!r}; expected one of {sorted(BASE_CONFIGS)} (optionally .yaml)")
    return BASE_CONFIGS[stem]()


def parse_overrides(argv: list[str], default_config: str = "atrl") -> Config:
    """A validated Config from hydra-style ``argv``: ``[--config-name NAME] key=value a.b=value ...``."""
    name, pairs, i = default_config, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--config-name", "-cn"):
            if i + 1 == len(argv):
                raise ConfigError(f"{arg} needs a config name ({sorted(BASE_CONFIGS)})")
            name, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--config-name="):
            name, i = arg.split("=", 1)[1], i + 1
            continue
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or not key:
            raise ConfigError(f"cannot read argument {arg!r}; expected key=value (e.g. seed=1, planning.planner=...)")
        if key == "config":
            name = value
        else:
            pairs.append((key, value))
        i += 1
    config = base_config(name)
    for key, value in pairs:
        set_override(config, key, value)
    validate(config)
    return config


def validate(config: Config) -> None:
    """Raise ConfigError on values the scripts cannot run."""
    if not any(pattern.match(config.env_id) for pattern in _ENV_PATTERNS.values()):
        raise ConfigError(
            f"env_id={config.env_id!r} is not supported; expected maze2d-{{umaze,medium,large}}[-dense]-v1, "
            "antmaze-{umaze,umaze-diverse,medium-play,medium-diverse,large-play,large-diverse}-v2 or "
            "kitchen-{partial,mixed,complete}-v0 (roboverse/multimodal data are not available here)"
        )
    checks = [
        (config.planning.planner in PLANNERS,
         f"planning.planner={config.planning.planner!r}; expected one of {PLANNERS}"),
        (config.w_fit in W_FITS, f"w_fit={config.w_fit!r}; expected one of {W_FITS}"),
        (config.feat.type == "fourier", f"feat.type={config.feat.type!r}; only 'fourier' is implemented"),
        (config.feat.dim > 0 and config.feat.dim % 2 == 0, f"feat.dim={config.feat.dim}; expected a positive even int"),
        (config.model.sde == "vpsde" and not config.model.continuous,
         "model.sde/continuous: only the discrete 'vpsde' is implemented"),
        (config.model.embed_type == "positional", "model.embed_type: only 'positional' is implemented"),
        (config.model.grad_rule in ("normalize", "clip"), f"model.grad_rule={config.model.grad_rule!r}"),
        (config.sampling.predictor == "ddim" and config.sampling.corrector == "none" and config.sampling.eta == 0.0,
         "sampling: only predictor=ddim, corrector=none, eta=0 are implemented"),
        (not config.training.log_psi_video, "training.log_psi_video=True is not supported (no rendering here)"),
        (0.0 < config.gamma < 1.0, f"gamma={config.gamma}; expected 0 < gamma < 1"),
        (config.training.batch_size > 0 and config.training.num_steps > 0,
         "training.batch_size and training.num_steps must be positive"),
        (1 <= config.planning.num_elites <= config.planning.num_samples,
         f"planning.num_elites={config.planning.num_elites}; expected 1..num_samples={config.planning.num_samples}"),
        (config.goal is None or len(config.goal) == 2, f"goal={config.goal}; expected two coordinates x,y"),
        (config.goal_scale is None or config.goal_scale > 0, f"goal_scale={config.goal_scale}; expected > 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
