"""Which gymnasium env evaluates a policy trained on a D4RL dataset name.

D4RL named each dataset after the env that scores it (``hopper-medium-v2`` -> its Hopper). ``d4rl`` and mujoco-py do
not run here, so each family maps to the current env that the local datasets are built in (or that matches D4RL's):

===========================================  ===============================================================
dataset names                                evaluation env
===========================================  ===============================================================
{hopper,halfcheetah,walker2d,ant}-<level>-vN  gymnasium ``Hopper-v5`` / ``HalfCheetah-v5`` / ``Walker2d-v5`` /
                                             ``Ant-v5`` (levels: random, medium, expert, medium-replay,
                                             medium-expert, full-replay)
maze2d-{umaze,medium,large}[-dense]-vN       ``rlkit.envs.maze2d.Maze2DEnv`` (PointMaze, fixed evaluation goal)
antmaze-{umaze,medium,large}[-play|-diverse]  ``rlkit.envs.antmaze_eval.AntMazeEvalEnv`` (AntMaze, 29-d
-vN                                          observation, fixed start and goal)
{pen,hammer,door,relocate}-<level>-vN         gymnasium-robotics ``AdroitHand*-v1`` (levels: human, cloned,
                                             expert); pen episodes last 100 steps, as D4RL's
bandit-motivation-v0                         ``rlkit.envs.bandit.OneStepBandit``
===========================================  ===============================================================

Keyword arguments go to the env's constructor (``gym.make`` kwargs for gymnasium ids). Whether a dataset's
observation/action sizes fit the env is for the caller to check (D4RL's own ant files are 111-d; ``Ant-v5`` is 105-d,
as are the locally built ant datasets).
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym

MUJOCO_ENV_IDS = {"hopper": "Hopper-v5", "halfcheetah": "HalfCheetah-v5", "walker2d": "Walker2d-v5", "ant": "Ant-v5"}
MUJOCO_LEVELS = ("random", "medium", "expert", "medium-replay", "medium-expert", "full-replay")
ADROIT_ENV_IDS = {
    "pen": "AdroitHandPen-v1",
    "hammer": "AdroitHandHammer-v1",
    "door": "AdroitHandDoor-v1",
    "relocate": "AdroitHandRelocate-v1",
}
ADROIT_LEVELS = ("human", "cloned", "expert")
ADROIT_EPISODE_STEPS = {"pen": 100}  # D4RL's pen time limit; the others keep gymnasium-robotics' 200 (as D4RL)

_MUJOCO = re.compile(rf"^(?P<body>{'|'.join(MUJOCO_ENV_IDS)})-(?P<level>{'|'.join(MUJOCO_LEVELS)})-v\d+$")
_ADROIT = re.compile(rf"^(?P<task>{'|'.join(ADROIT_ENV_IDS)})-(?P<level>{'|'.join(ADROIT_LEVELS)})-v\d+$")

SUPPORTED = (
    "{hopper,halfcheetah,walker2d,ant}-{random,medium,expert,medium-replay,medium-expert,full-replay}-vN",
    "maze2d-{umaze,medium,large}[-dense]-vN",
    "antmaze-{umaze,medium,large}[-play|-diverse]-vN",
    "{pen,hammer,door,relocate}-{human,cloned,expert}-vN",
    "bandit-motivation-v0",
)


def _robotics_make(env_id: str, **kwargs: Any) -> gym.Env:
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return gym.make(env_id, **kwargs)


def _unknown(dataset_name: str) -> str:
    return f"no evaluation env for dataset {dataset_name!r}; supported names: " + "; ".join(SUPPORTED)


def make_env(dataset_name: str, **kwargs: Any) -> gym.Env:
    """The gymnasium env that evaluates policies trained on ``dataset_name``; kwargs go to its constructor.

    Example:
        >>> env = make_env("hopper-medium-v2")       # gymnasium Hopper-v5
        >>> env = make_env("maze2d-umaze-v1")        # Maze2DEnv, goal at the umaze's evaluation cell
    """
    if not isinstance(dataset_name, str):
        raise TypeError(f"dataset_name must be a string, got {type(dataset_name).__name__}")
    if match := _MUJOCO.match(dataset_name):
        return gym.make(MUJOCO_ENV_IDS[match["body"]], **kwargs)
    if match := _ADROIT.match(dataset_name):
        task = match["task"]
        if task in ADROIT_EPISODE_STEPS:
            kwargs.setdefault("max_episode_steps", ADROIT_EPISODE_STEPS[task])
        return _robotics_make(ADROIT_ENV_IDS[task], **kwargs)
    if dataset_name.startswith("maze2d-"):
        from rlkit.envs.maze2d import make_maze2d_env

        return make_maze2d_env(dataset_name, **kwargs)
    if dataset_name.startswith("antmaze-"):
        from rlkit.envs.antmaze_eval import make_antmaze_env

        return make_antmaze_env(dataset_name, **kwargs)
    if dataset_name == "bandit-motivation-v0":
        from rlkit.envs.bandit import OneStepBandit

        return OneStepBandit(**kwargs)
    raise ValueError(_unknown(dataset_name))
