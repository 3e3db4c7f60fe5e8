"""rlkit.trainers: the pieces every training script shares (seeding, logging, checkpoints, evaluation, plots).

Each lives in its own small module; names are imported lazily (evaluation pulls in gymnasium and tensordict,
plotting pulls in matplotlib), so ``from rlkit.trainers import Logger`` stays fast. Two system-specific loops live
here too: GOM's compiled update (``GOMTrainer``) and BOReL's online variant (``OnlineVariBAD``).
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # seeding
    "seed_everything": "rlkit.trainers.seeding",
    "sub_env_seeds": "rlkit.trainers.seeding",
    "seed_env": "rlkit.trainers.seeding",
    "seed_vector_env": "rlkit.trainers.seeding",
    # logging and progress
    "Logger": "rlkit.trainers.logger",
    "read_metrics": "rlkit.trainers.logger",
    "resolve_wandb_mode": "rlkit.trainers.logger",
    "ProgressBar": "rlkit.trainers.progress",
    "progress_bar": "rlkit.trainers.progress",
    # checkpoints
    "Checkpointer": "rlkit.trainers.checkpoint",
    "CheckpointError": "rlkit.trainers.checkpoint",
    "capture_global_rng": "rlkit.trainers.checkpoint",
    "restore_global_rng": "rlkit.trainers.checkpoint",
    # evaluation
    "evaluate": "rlkit.trainers.evaluation",
    "episode_quota": "rlkit.trainers.evaluation",
    "TorchPolicy": "rlkit.trainers.evaluation",
    # plots
    "plot_learning_curves": "rlkit.trainers.plotting",
    "plot_seeds": "rlkit.trainers.plotting",
    "aggregate_seeds": "rlkit.trainers.plotting",
    "smooth_curve": "rlkit.trainers.plotting",
    # guards
    "check_finite": "rlkit.trainers.guards",
    "NonFiniteLossError": "rlkit.trainers.guards",
    # system-specific trainers
    "GOMTrainer": "rlkit.trainers.gom_trainer",
    "OnlineVariBAD": "rlkit.trainers.online_varibad",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
