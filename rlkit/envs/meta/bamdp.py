"""The BAMDP view of a task env: several episodes of the same task form one meta-episode, so an agent that infers
the task in early episodes can exploit it in later ones (varibad's ``VariBadWrapper``, used by BOReL).

Semantics, as the original's wrapper:
- the observation gets one extra feature, the inner episode's done flag: 1.0 on the observation returned by the step
  that ended an inner episode (the last one included), 0.0 on reset observations and every other step;
- when an inner episode ends and more remain, the inner env is reset at once to a new start of the SAME task; the
  returned observation is still the inner episode's last one (flag 1.0), and the next action is applied from the
  fresh start. That start (flag 0.0) is reported in ``info["start_obs"]``, it is not observed otherwise;
- after ``episodes_per_task`` inner episodes the meta-episode ends with ``truncated=True`` (``terminated`` only if the
  last inner episode terminated). Goal hits never terminate anything (the original's bug 4 treated them as terminals).
Deviation: the original added the flag only when episodes_per_task > 1; here ``add_done_flag`` decides.
info: ``episode_index`` (the inner episode this step belongs to), ``inner_terminated``, ``inner_truncated``, ``task``,
the inner env's info (``success``), and ``start_obs`` at inner boundaries.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class BAMDPWrapper(gym.Wrapper):
    """Meta-episodes of ``episodes_per_task`` inner episodes of one task; see the module docstring.

    env: an env with ``set_task`` / ``get_task`` and a 1-D Box observation that ends its own episodes (truncation).
    ``set_task(task)`` or ``reset(options={"task": task})`` switches task at the next meta-episode.

    Example:
        >>> env = BAMDPWrapper(GridNaviFamily().make_env(task=[2.0, 3.0]), episodes_per_task=4)
        >>> obs, info = env.reset(seed=0)  # obs (3,): x, y, done flag
    """

    def __init__(self, env: gym.Env, episodes_per_task: int, add_done_flag: bool = True) -> None:
        if isinstance(episodes_per_task, bool) or not isinstance(episodes_per_task, int) or episodes_per_task < 1:
            raise ValueError(f"episodes_per_task={episodes_per_task!r}; expected a positive int")
        super().__init__(env)
        self.episodes_per_task = episodes_per_task
        self.add_done_flag = bool(add_done_flag)
        space = env.observation_space
        if self.add_done_flag:
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise ValueError(f"BAMDPWrapper: the done flag needs a 1-D Box observation space; got {space}")
            low = np.append(space.low, 0.0).astype(space.dtype)
            high = np.append(space.high, 1.0).astype(space.dtype)
            self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)
        self._episode = 0
        self._task: np.ndarray | None = None
        self._pending_task: Any = None
        self._finished = True

    @property
    def inner_episode_steps(self) -> int:
        """Steps of one inner episode (the inner env's ``max_episode_steps``)."""
        return int(self.env.get_wrapper_attr("max_episode_steps"))

    @property
    def meta_episode_steps(self) -> int:
        """Steps of a whole meta-episode: episodes_per_task * inner episode steps."""
        return self.episodes_per_task * self.inner_episode_steps

    @property
    def episode_index(self) -> int:
        """The inner episode the next step belongs to (== episodes_per_task once the meta-episode is over)."""
        return self._episode

    def set_task(self, task: Any) -> None:
        """Play ``task`` from the next ``reset()`` on (never in the middle of a meta-episode)."""
        self._pending_task = task

    def get_task(self) -> np.ndarray:
        """The task of the current meta-episode."""
        return self.env.get_wrapper_attr("get_task")()

    def _with_flag(self, obs: np.ndarray, flag: float) -> np.ndarray:
        if not self.add_done_flag:
            return obs
        obs = np.asarray(obs)
        return np.concatenate([obs, np.array([flag], dtype=obs.dtype)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        options = dict(options or {})
        if self._pending_task is not None and options.get("task") is None:
            options["task"] = self._pending_task
        self._pending_task = None
        obs, info = self.env.reset(seed=seed, options=options or None)
        self._task = np.asarray(self.get_task()).copy()
        self._episode, self._finished = 0, False
        info = {**info, "episode_index": 0, "task": self._task.copy()}
        return self._with_flag(obs, 0.0), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._finished:
            raise RuntimeError("BAMDPWrapper.step called before reset() or after the meta-episode ended")
        obs, reward, inner_terminated, inner_truncated, info = self.env.step(action)
        inner_done = bool(inner_terminated or inner_truncated)
        info = {
            **info,
            "episode_index": self._episode,
            "inner_terminated": bool(inner_terminated),
            "inner_truncated": bool(inner_truncated),
            "task": self._task.copy(),
        }
        terminated = truncated = False
        if inner_done:
            self._episode += 1
            if self._episode == self.episodes_per_task:
                self._finished = True
                terminated, truncated = bool(inner_terminated), not inner_terminated
            else:
                start, _ = self.env.reset(options={"task": self._task})  # a new start, the same task
                info["start_obs"] = self._with_flag(start, 0.0)
        return self._with_flag(obs, float(inner_done)), reward, terminated, truncated, info
