"""rlkit.agents: policies and controllers that act in environments.

Compositions that act in environments. Names are imported lazily, as in the other rlkit packages, so
``import rlkit.agents`` stays fast; add an agent's public names to ``_EXPORTS`` with the module they live in.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # decision-transformer inference (per-env context windows, gymnasium vector envs)
    "DTInference": "rlkit.agents.dt_inference",
    "FeedbackVectorEnv": "rlkit.agents.dt_inference",
    # online TD3 (the medium-level dataset policies)
    "TD3Agent": "rlkit.agents.td3",
    "TD3TrainConfig": "rlkit.agents.td3_training",
    "TD3TrainResult": "rlkit.agents.td3_training",
    "UniformReplay": "rlkit.agents.td3_training",
    "train_td3_online": "rlkit.agents.td3_training",
    # scripted dataset controllers
    "TrotGait": "rlkit.agents.ant_gait",
    "GaitParams": "rlkit.agents.ant_gait",
    "AntMazeNavigator": "rlkit.agents.ant_maze_navigator",
    "KitchenController": "rlkit.agents.kitchen_controller",
    "FrankaIK": "rlkit.agents.franka_ik",
    # PTGM high level
    "PTGMHighLevelAgent": "rlkit.agents.ptgm_hrl",
    "high_level_transition": "rlkit.agents.ptgm_hrl",
    "sparse_goal_reward": "rlkit.agents.ptgm_hrl",
    "SparseGoalReward": "rlkit.agents.ptgm_hrl",
    # GOM: the model bundle, planners and the acting wrapper
    "GOM": "rlkit.agents.gom",
    "GOMCheckpointError": "rlkit.agents.gom",
    "RandomShootingPlanner": "rlkit.agents.gom_planners",
    "GuidedDiffusionPlanner": "rlkit.agents.gom_planners",
    "GOMActor": "rlkit.agents.gom_planners",
    "guidance_vector": "rlkit.agents.gom_planners",
    # BOReL: offline RL on hyper-states and meta-episode evaluation
    "OfflineSAC": "rlkit.agents.offline_sac",
    "OfflineDQN": "rlkit.agents.offline_dqn",
    "TaskTransitions": "rlkit.agents.hyper_state_rl",
    "hyper_state_transitions": "rlkit.agents.hyper_state_rl",
    "train_hyper_state_agent": "rlkit.agents.hyper_state_rl",
    "BeliefAgent": "rlkit.agents.belief_agent",
    "evaluate_meta_episodes": "rlkit.agents.belief_agent",
    "MetaEpisodeResults": "rlkit.agents.belief_agent",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
