"""rlkit.modules: neural-network building blocks.

Neural-network building blocks: the decision transformer, DT policies (deterministic and tanh-Gaussian heads), TD3
twin critics (per-token MLP and recurrent), MLPs; GOM's random Fourier cumulants, conditional MLP U-Net, VP-SDE/DDIM
diffusion and EMA; PTGM's goal codebook, goal prior and goal-conditioned policy; BOReL's belief encoder and decoders.

Names are imported lazily, as in the other rlkit packages, so ``import rlkit.modules`` stays fast.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    "MLP": "rlkit.modules.mlp",
    "DecisionTransformer": "rlkit.modules.transformer",
    "DeterministicDTPolicy": "rlkit.modules.dt_policy",
    "StochasticDTPolicy": "rlkit.modules.dt_policy",
    "TanhGaussian": "rlkit.modules.distributions",
    "TwinQCritic": "rlkit.modules.critics",
    "RecurrentTwinQCritic": "rlkit.modules.critics",
    # PTGM: goal codebook, goal prior, goal-conditioned low level
    "GoalCodebook": "rlkit.modules.codebook",
    "GoalPrior": "rlkit.modules.goal_prior",
    "GaussianGoalPolicy": "rlkit.modules.goal_prior",
    "PTGMTrunk": "rlkit.modules.goal_prior",
    # BOReL: belief VAE
    "BeliefEncoder": "rlkit.modules.belief",
    "RewardDecoder": "rlkit.modules.belief",
    "GridRewardDecoder": "rlkit.modules.belief",
    "StateDecoder": "rlkit.modules.belief",
    # GOM: cumulants, denoiser, diffusion, EMA
    "RandomFourierCumulants": "rlkit.modules.cumulants",
    "feature_bounds": "rlkit.modules.cumulants",
    "ConditionalMLPUNet": "rlkit.modules.occupancy_unet",
    "VPSchedule": "rlkit.modules.diffusion",
    "DDIMTable": "rlkit.modules.diffusion",
    "ddim_sample": "rlkit.modules.diffusion",
    "ddim_step": "rlkit.modules.diffusion",
    "EMA": "rlkit.modules.ema",
    "DiffusionModel": "rlkit.modules.occupancy",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
