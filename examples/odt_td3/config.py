"""Arguments of ``examples/odt_td3/main.py``: the original's flags, rlkit's own, and the per-family defaults.

The original (KaiYan289/RL_as_Vitamin_for_Online_Decision_Transformers) has one ``get_args.py`` whose defaults suit
hopper, and its README passes the settings of every other task family on the command line. Here a flag that is not
given takes the value the README uses for the dataset's family (adroit, antmaze, maze2d, mujoco; plus the one-step
bandit of the motivation experiment), so ``--env maze2d-umaze-v1`` alone runs the README's maze2d-umaze command, and
the README's full commands run unchanged. Precedence: a flag given > ``--quick`` > the family's default > the
field's default below.

Two defaults differ from ``get_args.py`` on purpose: ``--stoc`` and ``--use_entropy_reg`` default to 0 (ODT+TD3,
which every README command selects) rather than 1 (ODT). The baselines are the original's flags:
ODT = ``--actor_rl_coeff 0 --stoc 1 --use_entropy_reg 1``; TD3 = ``--actor_sup_coeff 0``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import math
import textwrap
import types
import typing
from dataclasses import dataclass
from typing import Any

FAMILIES = ("adroit", "antmaze", "maze2d", "mujoco", "bandit")
_TASK_FAMILY = {
    "pen": "adroit", "hammer": "adroit", "door": "adroit", "relocate": "adroit",
    "antmaze": "antmaze", "maze2d": "maze2d",
    "hopper": "mujoco", "halfcheetah": "mujoco", "walker2d": "mujoco", "ant": "mujoco",
    "bandit": "bandit",
}


@dataclass
class Args:
    # ---- the original's flags (get_args.py names, types and meanings) ---------------------------------------------
    env: str = "maze2d-umaze-v1"
    """D4RL dataset name (e.g. hopper-medium-v2, maze2d-umaze-v1, antmaze-umaze-v2, pen-human-v1, or
    bandit-motivation-v0); chooses the evaluation env and the family defaults."""
    seed: int = 10
    """Seed of every RNG (torch, numpy, python, the envs)."""
    K: int | None = None
    """Context length of training windows (mujoco 20; adroit 5; antmaze/maze2d 1, 5 for -large)."""
    eval_context_length: int | None = None
    """Steps of history the policy sees when acting, at most K (mujoco and pen 5; others 1)."""
    embed_dim: int = 512
    """Transformer width."""
    n_layer: int = 4
    """Transformer blocks."""
    n_head: int = 4
    """Attention heads."""
    activation_function: str = "relu"
    """MLP activation of the transformer blocks."""
    dropout: float = 0.1
    """Dropout of the transformer (embeddings, attention, residual branches)."""
    eval_rtg: float | None = None
    """Return-to-go asked for in evaluation, in the task's (transformed) reward units."""
    online_rtg: float | None = None
    """Return-to-go asked for when collecting online episodes."""
    num_eval_episodes: int = 10
    """Episodes per evaluation (also --eval-episodes)."""
    init_temperature: float = 0.1
    """Initial entropy temperature of ODT's loss (--use_entropy_reg 1)."""
    batch_size: int = 256
    """Windows per gradient step."""
    learning_rate: float | None = None
    """DT learning rate (1e-4; walker2d 1e-3)."""
    weight_decay: float | None = None
    """DT weight decay (5e-4 hopper; 1e-3 walker2d; 1e-4 otherwise)."""
    warmup_steps: int = 10000
    """Linear learning-rate warmup of the DT, in actor steps."""
    max_pretrain_iters: int | None = None
    """Offline pretraining iterations, each followed by an evaluation (antmaze 40; others 1)."""
    num_updates_per_pretrain_iter: int | None = None
    """Actor updates per pretraining iteration (mujoco 5000, walker2d 10000; adroit/maze2d 40000, maze2d-open 10000;
    antmaze 5000); the critic takes num_actor_update_interval times as many."""
    max_online_iters: int | None = None
    """Online iterations (mujoco 1500; others 99999, ended by max_env_steps)."""
    num_online_rollouts: int = 1
    """Parallel envs collecting online episodes."""
    replay_size: int | None = None
    """Trajectory replay capacity in trajectories (mujoco 1000; adroit 5000; antmaze 2000; maze2d 10000 open,
    2500 umaze, 5000 medium/large)."""
    num_updates_per_online_iter: int = 300
    """Actor updates per online iteration (the critic takes num_actor_update_interval times as many)."""
    eval_interval: int = 10
    """Evaluate every this many online iterations, and at the last (also --eval-every)."""
    critic_learning_rate: float | None = None
    """Critic learning rate (mujoco 1e-3; others 2e-4)."""
    minimum_sapairs_per_iter: int | None = None
    """Collect whole episodes until at least this many steps per online iteration (adroit/antmaze/maze2d and
    random datasets 1000; others 0 = one episode)."""
    use_entropy_reg: int = 0
    """1: ODT's entropy-regularised likelihood loss with a learned temperature (needs --stoc 1)."""
    actor_sup_coeff: float = 1.0
    """Weight of the supervised term of the actor loss (0 = TD3 alone)."""
    actor_rl_coeff: float = 0.1
    """Weight of the -Q term of the actor loss (0 = ODT alone)."""
    rl_algo: str = "TD3"
    """RL gradient; rlkit implements TD3, the paper's main method."""
    RL_from_start: int | None = None
    """1: apply the RL term during offline pretraining too (antmaze 1; others 0)."""
    gamma: float | None = None
    """Discount of the critic (antmaze 0.998; others 0.99)."""
    stoc: int = 0
    """1: tanh-Gaussian policy head (ODT); 0: deterministic tanh head (ODT+TD3, TD3)."""
    num_actor_update_interval: int | None = None
    """Critic steps per actor step, TD3's policy delay (mujoco 2; others 1)."""
    expl_noise: float = 0.1
    """Std of the Gaussian exploration noise of a deterministic policy online."""
    TD3_policy_noise: float = 0.2
    """Std of the target policy smoothing noise."""
    TD3_noise_clip: float = 0.5
    """Clip of the target policy smoothing noise."""
    TD3_tau: float = 0.005
    """Polyak rate of the critic and DT targets."""
    override_layernorm: int = 0
    """Critic layer norm: 0 = family default (on except mujoco), 1 = always, -1 = never."""
    delayed_reward: int = 0
    """Pay rewards every N steps and at episode end (0 = every step; 1 is meaningless, as in the original)."""

    # ---- rlkit's flags ---------------------------------------------------------------------------------------------
    dataset_path: str | None = None
    """Read the dataset from this hdf5 file instead of resolving --env (rlkit.data.load_dataset)."""
    run_dir: str | None = None
    """Where metrics.csv, config.json, checkpoints/ and learning_curves.png go (default runs/odt_td3/<env>-s<seed>)."""
    device: str = "auto"
    """torch device: auto (cuda when available), cpu, cuda, cuda:1, ..."""
    compile: bool = False
    """torch.compile the transformer."""
    precision: str = "fp32"
    """Precision of the updates' forward passes: fp32, or bf16 autocast (2-3x faster updates on a CPU with AVX512-BF16,
    see benchmarks/odt_td3_update.py; parameters and optimiser states stay fp32, loss values agree with fp32 to about
    three significant digits). Acting stays fp32."""
    wandb: bool = False
    """Also log to Weights & Biases (offline unless credentials are configured)."""
    wandb_project: str = "rlkit-odt-td3"
    """Weights & Biases project."""
    quick: bool = False
    """The small configuration (embed 128, 2 layers, a few short iterations): minutes on a 2-core CPU."""
    resume: bool = False
    """Continue the run in --run-dir from its latest checkpoint."""
    reward_scale: float | None = None
    """Multiplier of returns-to-go (1.0 pen/hammer/relocate/maze2d/bandit; 0.001 otherwise)."""
    max_env_steps: int | None = None
    """Stop online finetuning after this many collected steps (mujoco 600000; others 1050000)."""
    progress: int | None = None
    """Progress bars: 1 on, 0 off; default on when stderr is a terminal."""


RLKIT_FLAGS = ("dataset_path", "run_dir", "device", "compile", "precision", "wandb", "wandb_project", "quick", "resume",
               "reward_scale", "max_env_steps", "progress")
ALIASES = {"eval_interval": ("--eval-every",), "num_eval_episodes": ("--eval-episodes",)}

QUICK = dict(
    embed_dim=128, n_layer=2, n_head=4, batch_size=128, warmup_steps=500, max_pretrain_iters=2,
    num_updates_per_pretrain_iter=1000, max_online_iters=8, num_updates_per_online_iter=300, eval_interval=2,
)
"""``--quick``: a run of a few minutes on a 2-core CPU (maze2d-umaze-v1: about 2.5)."""


def family_of(env: str) -> str:
    """The task family of a dataset name; a clear error for a name outside the families the example knows."""
    task = env.split("-")[0]
    if task not in _TASK_FAMILY:
        raise ValueError(
            f"unknown --env {env!r}: expected a dataset of one of the families {FAMILIES} "
            f"(tasks {sorted(_TASK_FAMILY)}), e.g. hopper-medium-v2, maze2d-umaze-v1, antmaze-umaze-v2, pen-human-v1"
        )
    return _TASK_FAMILY[task]


def family_defaults(env: str) -> dict[str, Any]:
    """The settings the original README uses for ``env`` (see the module docstring)."""
    family, parts = family_of(env), env.split("-")
    task, size = parts[0], parts[1] if len(parts) > 1 else ""
    if family == "mujoco":
        rtg = {"hopper": (3600, 7200), "halfcheetah": (6000, 12000)}.get(task, (5000, 10000))
        return dict(
            K=20, eval_context_length=5, eval_rtg=rtg[0], online_rtg=rtg[1],
            learning_rate=1e-3 if task == "walker2d" else 1e-4,
            weight_decay={"hopper": 5e-4, "walker2d": 1e-3}.get(task, 1e-4),
            critic_learning_rate=1e-3, critic_layer_norm=False, gamma=0.99, num_actor_update_interval=2,
            replay_size=1000, num_updates_per_pretrain_iter=10000 if task == "walker2d" else 5000,
            max_pretrain_iters=1, max_online_iters=1500, minimum_sapairs_per_iter=1000 if "random" in env else 0,
            RL_from_start=0, reward_scale=0.001, max_env_steps=600_000,
        )
    common = dict(learning_rate=1e-4, weight_decay=1e-4, critic_learning_rate=2e-4, critic_layer_norm=True,
                  gamma=0.99, num_actor_update_interval=1, minimum_sapairs_per_iter=1000, RL_from_start=0,
                  max_pretrain_iters=1, max_online_iters=99999, max_env_steps=1_050_000, eval_context_length=1)
    if family == "adroit":
        rtg = {"pen": 120, "hammer": 160, "door": 40, "relocate": 50}[task]
        return common | dict(
            K=5, eval_context_length=5 if task == "pen" else 1, eval_rtg=rtg, online_rtg=rtg, replay_size=5000,
            num_updates_per_pretrain_iter=40000, reward_scale=0.001 if task == "door" else 1.0,
        )
    if family == "antmaze":
        rtg = {"umaze": -100, "medium": -200}.get(size, -500)
        return common | dict(
            K=5 if size == "large" else 1, eval_rtg=rtg, online_rtg=rtg, replay_size=2000,
            num_updates_per_pretrain_iter=5000, max_pretrain_iters=40, RL_from_start=1, gamma=0.998,
            reward_scale=0.001,
        )
    if family == "maze2d":
        return common | dict(
            K=5 if size == "large" else 1, eval_rtg=120 if size == "open" else 60,
            online_rtg=120 if size == "open" else 60,
            replay_size={"open": 10000, "umaze": 2500}.get(size, 5000),
            num_updates_per_pretrain_iter=10000 if size == "open" else 40000, reward_scale=1.0,
        )
    # the one-step bandit of the motivation experiment: ask for the optimum's return, 1; motivation.py's critic is a
    # plain MLP (with the layer norm of the other families, 2 of 10 seeds' critics gave no gradient off a = -1)
    return common | dict(
        K=1, eval_rtg=1.0, online_rtg=1.0, replay_size=1000, num_updates_per_pretrain_iter=300, critic_layer_norm=False,
        max_online_iters=10, minimum_sapairs_per_iter=64, reward_scale=1.0,
    )


# -- the parser, built from the dataclass so each flag's help is its field's docstring -------------------------------
def _field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal after it), read from the class source."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(following.value.value).split())
    return docs


def _base_type(hint: Any) -> type:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def build_parser() -> argparse.ArgumentParser:
    """Every flag's default is suppressed, so the parsed namespace holds exactly the flags that were given."""
    parser = argparse.ArgumentParser(
        description="Decision transformer pretrained offline and finetuned online with TD3 gradients (ODT+TD3).",
        argument_default=argparse.SUPPRESS,
    )
    docs, hints = _field_docs(Args), typing.get_type_hints(Args)
    original = parser.add_argument_group("the original's flags")
    ours = parser.add_argument_group("rlkit")
    for field in dataclasses.fields(Args):
        kind = _base_type(hints[field.name])
        default = field.default
        help_text = f"{docs.get(field.name, '')} (default: {'family default' if default is None else default})"
        names = [f"--{field.name}"]
        if field.name in RLKIT_FLAGS and "_" in field.name:
            names.insert(0, f"--{field.name.replace('_', '-')}")
        names += list(ALIASES.get(field.name, ()))
        group = ours if field.name in RLKIT_FLAGS else original
        if kind is bool:
            group.add_argument(*names, dest=field.name, action="store_true", help=help_text)
        else:
            group.add_argument(*names, dest=field.name, type=kind, metavar=kind.__name__.upper(), help=help_text)
    return parser


@dataclass
class Config(Args):
    """``Args`` with every default resolved, plus what the family fixes and no flag sets."""

    family: str = ""
    """The task family of --env."""
    critic_layer_norm: bool = False
    """Parameter-free layer norm after each hidden layer of the critic."""
    given: tuple[str, ...] = ()
    """The flags given on the command line."""


def parse_args(argv: list[str] | None = None) -> Config:
    """Parse the flags, apply ``--quick`` and the family defaults, and validate: a ready ``Config``."""
    given = vars(build_parser().parse_args(argv))
    env = given.get("env", Args.env)
    values = {field.name: field.default for field in dataclasses.fields(Args)}
    defaults = family_defaults(env)
    for name, value in defaults.items():
        if name in values and values[name] is None:
            values[name] = value
    if given.get("quick"):
        values.update(QUICK)
    values.update(given)
    if "eval_context_length" not in given and values["K"] is not None:
        values["eval_context_length"] = min(values["eval_context_length"], values["K"])
    layer_norm = {1: True, -1: False}.get(values["override_layernorm"], defaults["critic_layer_norm"])
    config = Config(**values, family=family_of(env), critic_layer_norm=layer_norm, given=tuple(sorted(given)))
    validate(config)
    return config


def validate(config: Config) -> None:
    """Reject settings the run cannot use, before any data is loaded (ValueError naming the flag)."""
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)

    for name in ("K", "eval_context_length", "embed_dim", "n_layer", "n_head", "batch_size", "warmup_steps",
                 "replay_size", "num_eval_episodes", "num_online_rollouts", "eval_interval",
                 "num_actor_update_interval"):
        value = getattr(config, name)
        need(value >= 1, f"--{name} must be >= 1, got {value}"
             + (" (the policy needs at least the current step as context)" if name in ("K", "eval_context_length")
                else ""))
    need(config.eval_context_length <= config.K,
         f"--eval_context_length {config.eval_context_length} exceeds --K {config.K}: the policy is trained on "
         f"windows of at most K steps")
    need(config.embed_dim % config.n_head == 0, f"--embed_dim {config.embed_dim} must be divisible by "
                                                f"--n_head {config.n_head}")
    for name in ("max_pretrain_iters", "num_updates_per_pretrain_iter", "max_online_iters",
                 "num_updates_per_online_iter", "minimum_sapairs_per_iter", "max_env_steps", "delayed_reward"):
        need(getattr(config, name) >= 0, f"--{name} must be >= 0, got {getattr(config, name)}")
    for name in ("stoc", "use_entropy_reg", "RL_from_start"):
        need(getattr(config, name) in (0, 1), f"--{name} is a 0/1 flag, got {getattr(config, name)}")
    need(config.override_layernorm in (-1, 0, 1), f"--override_layernorm must be -1, 0 or 1, got "
                                                 f"{config.override_layernorm}")
    need(config.rl_algo == "TD3", f"--rl_algo {config.rl_algo!r} is not implemented in rlkit; only TD3 is")
    need(config.delayed_reward != 1, "--delayed_reward 1 is meaningless (it delays nothing); use 0 or N >= 2")
    need(config.stoc == 1 or config.use_entropy_reg == 0,
         "--use_entropy_reg 1 needs a stochastic policy (--stoc 1)")
    need(config.precision in ("fp32", "bf16"), f"--precision must be fp32 or bf16, got {config.precision!r}")
    need(config.actor_rl_coeff >= 0 and config.actor_sup_coeff >= 0, "--actor_rl_coeff and --actor_sup_coeff must "
                                                                       "be >= 0")
    need(0.0 <= config.gamma <= 1.0, f"--gamma must be in [0, 1], got {config.gamma}")
    need(0.0 <= config.TD3_tau <= 1.0, f"--TD3_tau must be in [0, 1], got {config.TD3_tau}")
    need(0.0 <= config.dropout < 1.0, f"--dropout must be in [0, 1), got {config.dropout}")
    for name in ("learning_rate", "critic_learning_rate", "init_temperature"):
        value = getattr(config, name)
        need(math.isfinite(value) and value > 0, f"--{name} must be a finite number > 0, got {value}")
    for name in ("weight_decay", "expl_noise", "TD3_policy_noise", "TD3_noise_clip"):
        need(getattr(config, name) >= 0, f"--{name} must be >= 0, got {getattr(config, name)}")
    need(math.isfinite(config.reward_scale) and config.reward_scale > 0,
         f"--reward_scale must be a finite number > 0, got {config.reward_scale}")
    for name in ("eval_rtg", "online_rtg"):
        scaled = getattr(config, name) * config.reward_scale
        need(math.isfinite(scaled) and abs(scaled) < 3.0e38,
             f"--{name} {getattr(config, name)} times --reward_scale {config.reward_scale} = {scaled} is not a "
             "finite float32 return-to-go")
