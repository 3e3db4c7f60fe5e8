"""BOReL's env types by the names its scripts take (``--env-type``), with the settings those scripts used.

===========================  =====================  =====  ========  ===========  ==================================
env type                     family                 H      episodes  train/eval   data-collection start
===========================  =====================  =====  ========  ===========  ==================================
gridworld                    GridNaviFamily         15     4         16/5 (*)     random cell (not the goal)
point_robot_sparse           PointRobotSparseFamily 60     2         80/20        U([-1.5,1.5]x[-0.5,1.5])
point_robot_wind             WindFamily             25     2         40/10        (0, 0)
escape_room                  EscapeRoomFamily       60     2         60/5         radius U(0,1), angle U(-pi,pi)
cheetah_vel                  CheetahVelFamily       200    2         100/20       gym's noisy reset
ant_semicircle_sparse        AntSemiCircleFamily    200    2         80/20        box minus the goal ring
ant_semicircle               (dense reward)         200    2         80/20        box minus the goal ring
===========================  =====================  =====  ========  ===========  ==================================
(*) the original's offline grid run trained and evaluated on all 21 goals (its bug 7); the defaults here are its
online split, disjoint. Evaluation starts are the envs' defaults; ``collection_kwargs`` gives the collection ones.
The original collected the ant data in the dense env and evaluated sparse.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.envs.meta.bamdp import BAMDPWrapper
from rlkit.envs.meta.task_family import TaskFamily


@dataclass(frozen=True)
class MetaEnvSpec:
    """One env type: where its family lives and the original scripts' settings for it."""

    env_type: str
    family_path: str
    """``module:Class`` of the task family (imported on use, so MuJoCo loads only for MuJoCo types)."""
    family_kwargs: dict[str, Any]
    """Constructor arguments of the family."""
    episode_steps: int
    """Steps of one inner episode."""
    episodes_per_task: int
    """Inner episodes per meta-episode (the original's ``max_rollouts_per_task``)."""
    num_train_tasks: int
    """Training tasks of the original's offline config."""
    num_eval_tasks: int
    """Evaluation tasks of the original's offline config."""
    collection_kwargs: dict[str, Any] = field(default_factory=dict)
    """Env kwargs the original's data collection used (``modify_init_state_dist``)."""

    def family(self) -> TaskFamily:
        """A fresh task family of this type."""
        module, name = self.family_path.split(":")
        return getattr(importlib.import_module(module), name)(**self.family_kwargs)

    def sample_task_split(
        self, rng: np.random.Generator, num_train: int | None = None, num_eval: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Train and eval tasks from one draw, so a finite family's splits are disjoint (no evaluation on training
        goals, the original's bug 7); counts default to this type's."""
        num_train = self.num_train_tasks if num_train is None else num_train
        num_eval = self.num_eval_tasks if num_eval is None else num_eval
        tasks = self.family().sample_tasks(num_train + num_eval, rng)
        return tasks[:num_train], tasks[num_train:]


def _spec(
    env_type: str, family: str, steps: int, episodes: int, train: int, eval_: int, random_start: bool, **kwargs: Any
) -> MetaEnvSpec:
    collection = {"random_start": True} if random_start else {}
    return MetaEnvSpec(env_type, f"rlkit.envs.meta.{family}", kwargs, steps, episodes, train, eval_, collection)


META_ENV_SPECS: dict[str, MetaEnvSpec] = {
    spec.env_type: spec
    for spec in (
        _spec("gridworld", "grid_navi:GridNaviFamily", 15, 4, 16, 5, random_start=True),
        _spec("point_robot_sparse", "point_robot:PointRobotSparseFamily", 60, 2, 80, 20, random_start=True),
        _spec("point_robot_wind", "wind:WindFamily", 25, 2, 40, 10, random_start=False),
        _spec("escape_room", "escape_room:EscapeRoomFamily", 60, 2, 60, 5, random_start=True),
        _spec("cheetah_vel", "cheetah_vel:CheetahVelFamily", 200, 2, 100, 20, random_start=False),
        _spec("ant_semicircle_sparse", "ant_semicircle:AntSemiCircleFamily", 200, 2, 80, 20, True, sparse=True),
        _spec("ant_semicircle", "ant_semicircle:AntSemiCircleFamily", 200, 2, 80, 20, True, sparse=False),
    )
}
META_ENV_TYPES = tuple(META_ENV_SPECS)


def meta_env_spec(env_type: str) -> MetaEnvSpec:
    """The spec of ``env_type``; an unknown name raises listing the known ones."""
    spec = META_ENV_SPECS.get(env_type)
    if spec is None:
        raise KeyError(f"unknown meta-RL env type {env_type!r}; known: {', '.join(META_ENV_TYPES)}")
    return spec


def task_family(env_type: str) -> TaskFamily:
    """The task family of ``env_type`` (e.g. ``task_family("point_robot_sparse").reward(...)`` for relabelling)."""
    return meta_env_spec(env_type).family()


def make_meta_env(
    env_type: str, task: Any = None, bamdp: bool = True, seed: int | None = None, **env_kwargs: Any
) -> gym.Env:
    """The env of ``env_type`` playing ``task``, as a BAMDP of the type's episodes per task when ``bamdp``.

    task: None draws one from the env's RNG at the first reset. seed: resets the env once with it (seeding the task
    draw and the starts) and seeds the action space. env_kwargs: e.g. ``random_start=True`` (see ``collection_kwargs``).
    """
    spec = meta_env_spec(env_type)
    env: gym.Env = spec.family().make_env(task, **env_kwargs)
    if bamdp:
        env = BAMDPWrapper(env, spec.episodes_per_task)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env
