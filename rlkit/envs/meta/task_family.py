"""A family of related tasks (goals, velocities, winds, doors): how to draw tasks, the true reward of any task on any
transition, and an env that plays one task.

Why the reward lives on the family and not only inside ``step``: offline meta-RL relabels stored transitions with the
rewards other tasks would have given (BOReL's reward relabelling). The original's relabelling reward disagreed with
its ``step`` reward in several envs (semicircle, cheetah, ant sparse); here every env computes its step reward by
calling ``TaskFamily.reward`` on the arrays it returns, so the two cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.envs.meta.arrays import Array, require_last_dim

if TYPE_CHECKING:
    from rlkit.envs.meta.task_env import TaskEnv


def check_count(n: Any, family: str) -> int:
    """``n`` as a non-negative int, or a clear error."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{family}.sample_tasks: n={n!r}; expected a non-negative int")
    return int(n)


def check_rng(rng: Any, family: str) -> np.random.Generator:
    """Only an explicit ``np.random.Generator``: no global RNG anywhere (the original seeded numpy's global state)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{family}.sample_tasks: rng is {type(rng).__name__}; expected numpy.random.Generator")
    return rng


class TaskFamily(ABC):
    """The tasks of one meta-RL domain.

    Subclasses set ``name``, ``task_dim``, ``obs_dim``, ``action_dim`` (1 for a discrete action), ``num_actions``
    (None for continuous actions) and ``max_episode_steps``, and implement the four methods below.
    ``reward`` and ``success`` broadcast over leading axes and accept observations with extra trailing features (the
    BAMDP done flag), in numpy (computed in float64) or torch (the inputs' device and floating dtype).
    """

    name: str
    task_dim: int
    obs_dim: int
    action_dim: int
    num_actions: int | None = None
    max_episode_steps: int

    @abstractmethod
    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` tasks as float64 (n, task_dim); distinct, drawn without replacement, where the task set is finite."""

    @abstractmethod
    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """The true reward (...,) of ``task`` for transitions (obs, action, next_obs); equals what ``step`` returns."""

    @abstractmethod
    def success(self, task: Array, next_obs: Array) -> Array:
        """Whether ``next_obs`` solves ``task``: bool (...,)."""

    @abstractmethod
    def make_env(self, task: Array | None = None, **kwargs: Any) -> TaskEnv:
        """A gymnasium env playing ``task`` (drawn from the env's seeded RNG at the first reset when None)."""

    def check_task(self, task: Any) -> np.ndarray:
        """``task`` as float64 (task_dim,), or an error naming the family and the shape expected."""
        array = np.asarray(task, dtype=np.float64)
        array = array.reshape(1) if array.ndim == 0 else array
        if array.shape != (self.task_dim,) or not np.isfinite(array).all():
            shape = np.shape(task)
            raise ValueError(f"{self.name}: task {task!r} has shape {shape}; expected ({self.task_dim},) finite values")
        return array

    def check_batch(self, task: Array, next_obs: Array, obs: Array = None, action: Array = None) -> None:
        """Shape checks of a reward/success call: task (..., task_dim), observations (..., >=obs_dim) (a trailing BAMDP
        flag is allowed), actions (..., >=action_dim) where the reward reads them."""
        shape = tuple(task.shape) if hasattr(task, "shape") else np.shape(task)
        if len(shape) == 0 or shape[-1] != self.task_dim:
            raise ValueError(f"{self.name}: task has shape {shape}; expected (..., {self.task_dim})")
        require_last_dim("next_obs", next_obs, self.obs_dim, self.name)
        if obs is not None:
            require_last_dim("obs", obs, self.obs_dim, self.name)
        if action is not None:
            require_last_dim("action", action, self.action_dim, self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task_dim={self.task_dim}, obs_dim={self.obs_dim}, H={self.max_episode_steps})"
