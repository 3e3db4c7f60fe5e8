"""What the four BOReL scripts share: paths, data loading with checks, the VAE and agent builders, checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from config import DISCRETE_ENV_TYPES, Args
from tensordict import TensorDict
from torch import nn

from rlkit.agents.offline_dqn import OfflineDQN
from rlkit.agents.offline_sac import OfflineSAC
from rlkit.data.errors import DatasetError
from rlkit.data.generators.meta_tasks import default_output_dir
from rlkit.data.meta_relabel import reward_relabel
from rlkit.data.task_folders import T_ACTION, T_NEXT_OBS, MetaDataset, load_task_folders
from rlkit.envs.meta.registry import meta_env_spec
from rlkit.envs.meta.task_family import TaskFamily
from rlkit.envs.meta.task_folds import goals_in, split_fold
from rlkit.modules.belief import BeliefEncoder, GridRewardDecoder, RewardDecoder, StateDecoder
from rlkit.objectives.elbo import BeliefELBOLoss
from rlkit.utils.atomic import atomic_path

STATE_DECODER_ENV_TYPES = ("point_robot_wind", "escape_room")  # the original decodes s' only there
FULL_REWARD_ENV_TYPES = ("cheetah_vel", "ant_semicircle_sparse")  # r(z, s, a, s') instead of r(z, s')
VAE_FORMAT = "rlkit-borel-vae-1"


# ------------------------------------------------------------------------------------------------------------ paths
def data_dir(args: Args) -> Path:
    return args.data_dir if args.data_dir is not None else default_output_dir(args.env_type, args.agent)


def run_dir(args: Args) -> Path:
    return args.run_dir if args.run_dir is not None else Path("runs") / "borel" / args.env_type / f"seed_{args.seed}"


def relabel_tag(args: Args) -> str:
    """``rr`` or ``no_rr``: runs with and without reward relabelling keep their own files in one run folder."""
    return "rr" if args.hindsight_relabelling else "no_rr"


def vae_path(args: Args) -> Path:
    return args.vae_path if args.vae_path is not None else run_dir(args) / f"vae_{relabel_tag(args)}.pt"


# ------------------------------------------------------------------------------------------------------------- data
def family_of(args: Args) -> TaskFamily:
    return meta_env_spec(args.env_type).family()


def encoder_action_dim(family: TaskFamily) -> int:
    """What the encoder reads as the action: one-hot for discrete families."""
    return family.num_actions or family.action_dim


def load_dataset(args: Args) -> MetaDataset:
    """The per-task folders of ``args``; tasks that disagree in dimensions, or data that do not fit the env type,
    raise a ``DatasetError`` naming the folder and what was expected."""
    spec, family = meta_env_spec(args.env_type), family_of(args)
    root = data_dir(args)
    dataset = load_task_folders(root, spec.episode_steps, spec.episodes_per_task)  # checks tasks agree
    expected = {"observation": family.obs_dim, "action": encoder_action_dim(family), "task": family.task_dim}
    reference = dataset.data[0]
    for key, dim in expected.items():
        got = tuple(reference.get(key).shape[1:])
        if got != (dim,):
            raise DatasetError(f"{root / dataset.names[0]}: {key!r} has per-row shape {got}; expected ({dim},) for "
                               f"--env-type {args.env_type} (data collected for another env type?)")
    return dataset if args.held_out_fold is None else fold_training_tasks(dataset, args, family)


def fold_split(args: Args, family: TaskFamily) -> tuple[np.ndarray, np.ndarray]:
    """(training goals, held-out goals) of ``--held-out-fold`` of ``--folds`` (drawn from ``--data-seed``)."""
    return split_fold(family.goals, args.held_out_fold, args.folds, args.data_seed)


def fold_training_tasks(dataset: MetaDataset, args: Args, family: TaskFamily) -> MetaDataset:
    """The tasks of ``dataset`` outside the held-out fold; the data must cover every goal of the family (collected
    with --held-out-fold), else the fold would silently train on fewer tasks than it should."""
    train_goals, held_out = fold_split(args, family)
    tasks = dataset.tasks.double().numpy()
    missing = train_goals[~goals_in(train_goals, tasks)]
    if len(missing):
        raise DatasetError(f"{data_dir(args)}: --held-out-fold {args.held_out_fold} trains on {len(train_goals)} "
                           f"goals, but the data have none for {missing.astype(int).tolist()}; collect every goal "
                           "(train_single_agent.py with --held-out-fold)")
    return dataset.subset(np.nonzero(~goals_in(tasks, held_out))[0])


def training_goals(args: Args, family: TaskFamily) -> np.ndarray:
    """The tasks the online variant trains on: ``--num-train-tasks`` drawn from ``--data-seed``, or a fold's."""
    if args.held_out_fold is not None:
        return fold_split(args, family)[0]
    return family.sample_tasks(args.num_train_tasks, np.random.default_rng(args.data_seed))


def evaluation_tasks(args: Args, family: TaskFamily, train_tasks: torch.Tensor | np.ndarray) -> np.ndarray:
    """The held-out fold's goals with ``--held-out-fold``, else ``--num-eval-tasks`` of :func:`held_out_tasks`."""
    if args.held_out_fold is not None:  # load_dataset / training_goals already left these goals out
        return fold_split(args, family)[1]
    return held_out_tasks(family, train_tasks, args.num_eval_tasks, args.seed)


def training_trajectories(
    dataset: MetaDataset, family: TaskFamily, relabel: bool, seed: int, fraction: float
) -> list[TensorDict]:
    """Per-task trajectories (B_i, H, ...): reward-relabelled (BOReL's RR, first episodes mixed with probability
    ``fraction``) or the tasks' own."""
    if relabel:
        return list(reward_relabel(dataset, family, fraction=fraction, seed=seed).unbind(0))
    return [dataset.trajectories(i) for i in range(len(dataset))]


def held_out_tasks(family: TaskFamily, train_tasks: torch.Tensor | np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` evaluation tasks none of which is a training task (the original's grid evaluated on training goals,
    its bug 7). Finite task sets (the grid) take goals not trained on; others draw fresh tasks."""
    train = np.asarray(train_tasks, dtype=np.float64).reshape(len(train_tasks), -1)
    rng = np.random.default_rng(seed + 1_000_003)
    goals = getattr(family, "goals", None)
    if goals is not None:
        unseen = goals[~goals_in(goals, train)]
        if len(unseen) < n:
            raise ValueError(f"{n} held-out tasks asked, but only {len(unseen)} of the {len(goals)} goals have no "
                             "training data; lower --num-eval-tasks or --num-train-tasks")
        return unseen[rng.permutation(len(unseen))[:n]]
    return family.sample_tasks(n, rng)


# -------------------------------------------------------------------------------------------------------------- VAE
def vae_settings(args: Args) -> dict[str, Any]:
    """Everything that fixes the VAE's architecture; stored in its checkpoint and checked on load."""
    family = family_of(args)
    return {"env_type": args.env_type, "obs_dim": family.obs_dim, "action_dim": encoder_action_dim(family),
            "latent_dim": args.latent_dim, "encoder_hidden": args.encoder_hidden, "state_embed": args.state_embed,
            "action_embed": args.action_embed, "reward_embed": args.reward_embed,
            **({"grid_reward_decoder": args.grid_reward_decoder} if args.env_type in DISCRETE_ENV_TYPES else {})}


def build_vae(settings: dict[str, Any]) -> tuple[BeliefEncoder, nn.Module, nn.Module | None]:
    """Encoder, reward decoder and (wind, escape room) state decoder of an env type, as BOReL configures them."""
    env_type, latent = settings["env_type"], settings["latent_dim"]
    obs_dim, action_dim = settings["obs_dim"], settings["action_dim"]
    encoder = BeliefEncoder(obs_dim, action_dim, latent, settings["encoder_hidden"],
                            state_embed=settings["state_embed"], action_embed=settings["action_embed"],
                            reward_embed=settings["reward_embed"])
    if env_type in DISCRETE_ENV_TYPES and settings.get("grid_reward_decoder", "cells") == "cells":
        reward_decoder: nn.Module = GridRewardDecoder(latent)
    else:
        full = env_type in FULL_REWARD_ENV_TYPES
        reward_decoder = RewardDecoder(latent, obs_dim, action_dim, use_obs=full, use_action=full)
    state_decoder = StateDecoder(latent, obs_dim, action_dim) if env_type in STATE_DECODER_ENV_TYPES else None
    return encoder, reward_decoder, state_decoder


def build_elbo(args: Args, modules: tuple[BeliefEncoder, nn.Module, nn.Module | None]) -> BeliefELBOLoss:
    encoder, reward_decoder, state_decoder = modules
    return BeliefELBOLoss(encoder, reward_decoder, state_decoder, kl_coef=args.kl_weight,
                          decode_reduction=args.decode_reduction)


def save_vae(path: Path, settings: dict[str, Any], loss: BeliefELBOLoss, extra: dict[str, Any]) -> None:
    """The VAE's weights and settings, written atomically."""
    with atomic_path(path) as temporary:
        torch.save({"format": VAE_FORMAT, "settings": settings, "state_dict": loss.state_dict(), **extra}, temporary)


def load_vae(path: Path, args: Args) -> tuple[BeliefEncoder, nn.Module, nn.Module | None, dict[str, Any]]:
    """A VAE checkpoint, checked against the env type of ``args`` before anything trains on it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no VAE checkpoint; run train_vae_offline.py --env-type {args.env_type} first")
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != VAE_FORMAT:
        raise ValueError(f"{path}: not a VAE checkpoint of train_vae_offline.py (format {VAE_FORMAT!r})")
    stored, expected = checkpoint["settings"], vae_settings(args)
    for key in ("env_type", "obs_dim", "action_dim"):
        if stored.get(key) != expected[key]:
            raise ValueError(f"{path}: the VAE was trained for {key}={stored.get(key)!r}; this run needs "
                             f"{key}={expected[key]!r} (--env-type {args.env_type})")
    modules = build_vae(stored)
    elbo = BeliefELBOLoss(*modules)
    elbo.load_state_dict(checkpoint["state_dict"])
    for module in modules:
        if module is not None:
            module.eval().requires_grad_(False)
    return (*modules, stored)


# ------------------------------------------------------------------------------------------------------------ agent
def build_agent(args: Args, family: TaskFamily, hyper_dim: int) -> OfflineSAC | OfflineDQN:
    """DQN for discrete families, SAC otherwise, sized by ``args``."""
    if family.num_actions:
        return OfflineDQN(hyper_dim, family.num_actions, args.hidden_sizes, gamma=args.gamma, tau=args.tau,
                          lr=args.lr, double_dqn=args.double_dqn, cql_weight=args.cql_weight)
    return OfflineSAC(hyper_dim, family.action_dim, args.hidden_sizes, gamma=args.gamma, tau=args.tau,
                      alpha=args.entropy_alpha, auto_entropy=args.automatic_entropy_tuning, actor_lr=args.lr,
                      critic_lr=args.lr, alpha_lr=args.lr, cql_weight=args.cql_weight)


def hyper_dim_of(settings: dict[str, Any]) -> int:
    return settings["obs_dim"] + 2 * settings["latent_dim"]


def args_dict(args: Args) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(args).items()}


def check_trajectory_dims(trajectories: list[TensorDict], settings: dict[str, Any], where: str) -> None:
    """The data's observation/action sizes against a VAE's settings."""
    obs_dim, action_dim = trajectories[0].get(T_NEXT_OBS).shape[-1], trajectories[0].get(T_ACTION).shape[-1]
    if (obs_dim, action_dim) != (settings["obs_dim"], settings["action_dim"]):
        raise ValueError(f"{where}: data have obs/action dims ({obs_dim}, {action_dim}); the VAE expects "
                         f"({settings['obs_dim']}, {settings['action_dim']})")
