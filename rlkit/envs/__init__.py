"""rlkit.envs: gymnasium envs and wrappers.

Names are imported lazily (the maze envs pull in gymnasium-robotics and MuJoCo), so ``from rlkit.envs import
DelayedReward`` stays fast. Maze helpers (``maze_planning``, ``ant_state``) are imported from their modules.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # evaluation envs per dataset name
    "make_env": "rlkit.envs.registry",
    "Maze2DEnv": "rlkit.envs.maze2d",
    "make_maze2d_env": "rlkit.envs.maze2d",
    "AntMazeEvalEnv": "rlkit.envs.antmaze_eval",
    "make_antmaze_env": "rlkit.envs.antmaze_eval",
    # the motivation bandit
    "OneStepBandit": "rlkit.envs.bandit",
    "bandit_reward": "rlkit.envs.bandit",
    # reward wrappers
    "DelayedReward": "rlkit.envs.delayed_reward",
    "ShiftReward": "rlkit.envs.reward_shaping",
    "ScaleReward": "rlkit.envs.reward_shaping",
    "RewardTransform": "rlkit.envs.reward_shaping",
    "original_reward_transform": "rlkit.envs.reward_shaping",
    # PTGM: a high-level env whose actions are goal codes
    "GoalCodeWrapper": "rlkit.envs.hierarchical",
    "policy_low_level": "rlkit.envs.hierarchical",
    # BOReL: meta-RL task families and the BAMDP wrapper (more in rlkit.envs.meta)
    "TaskFamily": "rlkit.envs.meta.task_family",
    "BAMDPWrapper": "rlkit.envs.meta.bamdp",
    "make_meta_env": "rlkit.envs.meta.registry",
    "META_ENV_TYPES": "rlkit.envs.meta.registry",
    "meta_env_spec": "rlkit.envs.meta.registry",
    # GOM: the goal reward of its antmaze/maze tasks
    "GoalReward": "rlkit.envs.goal_reward",
    "goal_reward": "rlkit.envs.goal_reward",
    "relabel_goal_reward": "rlkit.envs.goal_reward",
    # PTGM downstream tasks: maze goal reaching, the four-task kitchen
    "MazeGoalEnv": "rlkit.envs.goal_tasks",
    "MazeGoalTask": "rlkit.envs.goal_tasks",
    "MAZE_GOAL_TASKS": "rlkit.envs.goal_tasks",
    "maze_goal_task": "rlkit.envs.goal_tasks",
    "make_maze_goal_env": "rlkit.envs.goal_tasks",
    "KitchenTaskEnv": "rlkit.envs.goal_tasks",
    "make_kitchen_env": "rlkit.envs.goal_tasks",
    "KITCHEN_GOAL_DIMS": "rlkit.envs.goal_tasks",
    "kitchen_goal_dims": "rlkit.envs.goal_tasks",
    "AntMazeGoalEnv": "rlkit.envs.antmaze_goal",
    # evaluation plots: where each episode went
    "PathRecorder": "rlkit.envs.path_recorder",
    "RecordedPath": "rlkit.envs.path_recorder",
    "ScoredPaths": "rlkit.envs.path_recorder",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
