"""rlkit.objectives: losses in TorchRL's conventions, and the optimiser recipes that go with them.

Loss modules in TorchRL's ``LossModule`` conventions (``forward(td)`` returns a TensorDict of ``loss_*`` terms plus
detached diagnostics; keys configurable with ``set_keys``), and the optimiser recipe that goes with them. Names are
imported lazily, so ``import rlkit.objectives`` stays fast.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # decision-transformer losses
    "DTSupervisedLoss": "rlkit.objectives.dt_supervised",
    "masked_mean": "rlkit.objectives.dt_supervised",
    "ODTEntropyLoss": "rlkit.objectives.odt_entropy",
    "ODTTD3Loss": "rlkit.objectives.odt_td3",
    "DelayedUpdates": "rlkit.objectives.odt_td3",
    "polyak_update_": "rlkit.objectives.soft_update",
    # optimiser recipe
    "Lamb": "rlkit.objectives.optim",
    "make_dt_optimizer": "rlkit.objectives.optim",
    "make_critic_optimizer": "rlkit.objectives.optim",
    "make_temperature_optimizer": "rlkit.objectives.optim",
    "clip_dt_grad_": "rlkit.objectives.optim",
    "warmup_lambda": "rlkit.objectives.optim",
    "DT_GRAD_CLIP_NORM": "rlkit.objectives.optim",
    # PTGM
    "GoalPriorLoss": "rlkit.objectives.ptgm",
    "LowLevelNLLLoss": "rlkit.objectives.ptgm",
    "sample_goal_windows": "rlkit.objectives.ptgm",
    "goal_window_rows": "rlkit.objectives.ptgm",
    "PriorKLDiscreteSACLoss": "rlkit.objectives.prior_kl_sac",
    # BOReL
    "BeliefELBOLoss": "rlkit.objectives.elbo",
    "gaussian_kl": "rlkit.objectives.elbo",
    # GOM
    "OccupancyLoss": "rlkit.objectives.occupancy",
    "fit_reward_weights": "rlkit.objectives.reward_weights",
    "reward_mse": "rlkit.objectives.reward_weights",
    "rescale_gradients_": "rlkit.objectives.gom_optim",
    "warmup_cosine_lr": "rlkit.objectives.gom_optim",
    "make_gom_optimizer": "rlkit.objectives.gom_optim",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
