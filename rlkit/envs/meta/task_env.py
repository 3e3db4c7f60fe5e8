"""The env side of a task family: one task at a time, fixed-length episodes that truncate and never terminate.

Subclasses write only the dynamics (``_reset_state`` and ``_advance``); the base computes the step reward with the
family's ``reward`` on the very arrays it returns, so a dataset relabelled with ``TaskFamily.reward`` matches ``step``
bit for bit. Reaching a goal is reported in ``info["success"]``, never as ``terminated`` (the original's bug 4).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:
    from rlkit.envs.meta.task_family import TaskFamily


class TaskEnv(gym.Env):
    """Base env of a task family: ``set_task`` / ``get_task``, ``reset(seed=...)`` seeds all randomness.

    task: the task to play; None draws one from ``family.sample_tasks`` with the env's RNG at the first reset.
    ``reset(options={"task": t})`` switches task too. ``max_episode_steps`` steps end the episode with
    ``truncated=True``. info: ``success`` (bool), ``task`` (a copy).
    """

    metadata = {"render_modes": []}

    def __init__(self, family: TaskFamily, task: Any = None, max_episode_steps: int | None = None) -> None:
        self.family = family
        self.max_episode_steps = family.max_episode_steps if max_episode_steps is None else max_episode_steps
        if isinstance(self.max_episode_steps, bool) or not isinstance(self.max_episode_steps, int):
            raise ValueError(f"{family.name}: max_episode_steps={max_episode_steps!r}; expected a positive int")
        if self.max_episode_steps < 1:
            raise ValueError(f"{family.name}: max_episode_steps={max_episode_steps!r}; expected a positive int")
        self._task: np.ndarray | None = None if task is None else family.check_task(task)
        self._obs: np.ndarray | None = None
        self._steps = 0

    # -- tasks ---------------------------------------------------------------------------------------------------
    def set_task(self, task: Any) -> None:
        """Play ``task`` from the next reset on (the current state is kept until then)."""
        self._task = self.family.check_task(task)

    def get_task(self) -> np.ndarray:
        """The current task (task_dim,), float64."""
        if self._task is None:
            raise RuntimeError(f"{self.family.name}: no task yet; pass one to make_env/set_task or call reset() first")
        return self._task.copy()

    # -- dynamics, written by subclasses ----------------------------------------------------------------------------
    @abstractmethod
    def _reset_state(self) -> np.ndarray:
        """Put the system at a start state (using ``self.np_random`` only) and return its observation."""

    @abstractmethod
    def _advance(self, action: Any) -> np.ndarray:
        """Apply a checked action and return the next observation."""

    def _check_action(self, action: Any) -> Any:
        """Continuous actions as float64 (action_dim,) clipped to [-1, 1] as the original's wrapper did."""
        array = np.asarray(action, dtype=np.float64).reshape(-1)
        if array.shape != (self.family.action_dim,) or not np.isfinite(array).all():
            raise ValueError(
                f"{self.family.name}: action {action!r} has shape {np.shape(action)}; "
                f"expected ({self.family.action_dim},) finite values in [-1, 1]"
            )
        return np.clip(array, -1.0, 1.0)

    # -- gymnasium API -------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options and options.get("task") is not None:
            self.set_task(options["task"])
        if self._task is None:
            self._task = self.family.sample_tasks(1, self.np_random)[0]
        self._steps = 0
        self._obs = self._reset_state()
        return self._obs.copy(), {"task": self._task.copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._obs is None or self._steps >= self.max_episode_steps:
            raise RuntimeError(f"{self.family.name}: step() called before reset() or after the episode ended")
        action = self._check_action(action)
        obs = self._obs
        next_obs = self._advance(action)
        reward = float(self.family.reward(self._task, obs, action, next_obs))
        success = bool(self.family.success(self._task, next_obs))
        self._obs = next_obs
        self._steps += 1
        truncated = self._steps >= self.max_episode_steps
        return next_obs.copy(), reward, False, truncated, {"success": success, "task": self._task.copy()}
