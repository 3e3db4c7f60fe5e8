"""Record where an agent went: every episode's positions and whether it succeeded, for plots of evaluation runs.

A success rate says how often a planner reaches a goal, not how it fails (stuck at a wall, heading for the wrong arm
of a maze). Wrap the evaluation env in ``PathRecorder`` and draw ``paths``.

Example:
    >>> store = []
    >>> env = PathRecorder(make_maze2d_env("maze2d-umaze-v1"), store=store)
    >>> # ... run episodes; store[i].positions is episode i's (T + 1, 2) array of (x, y), store[i].success its flag
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rlkit.envs.goal_reward import position_indices


@dataclass
class RecordedPath:
    """One episode: the position after reset and after every step; ``success`` if any step's info said so."""

    steps: list[np.ndarray] = field(default_factory=list)
    success: bool = False

    @property
    def positions(self) -> np.ndarray:
        return np.stack(self.steps)


class PathRecorder(gym.Wrapper):
    """Append a ``RecordedPath`` to ``store`` at every reset and extend it at every step.

    xy_indices: the observation entries to record. store: the list to fill (a new one if None; shared lists collect
    from several envs, e.g. every copy of an in-process ``SyncVectorEnv``). success_key: the info flag of success.
    """

    def __init__(
        self,
        env: gym.Env,
        xy_indices: Sequence[int] = (0, 1),
        store: list[RecordedPath] | None = None,
        success_key: str = "success",
    ) -> None:
        super().__init__(env)
        self.xy_indices = list(position_indices(env, xy_indices))
        self.paths: list[RecordedPath] = [] if store is None else store
        self.success_key = success_key
        self._current: RecordedPath | None = None

    def _position(self, observation: Any) -> np.ndarray:
        return np.asarray(observation, dtype=np.float64)[self.xy_indices].copy()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self._current = RecordedPath([self._position(observation)])
        self.paths.append(self._current)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._current is None:
            raise RuntimeError("PathRecorder.step() before reset()")
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._current.steps.append(self._position(observation))
        self._current.success |= bool(info.get(self.success_key, False))
        return observation, reward, terminated, truncated, info


class ScoredPaths:
    """An env wrapper factory for ``evaluate``: each sub-env gets its own ``PathRecorder``; ``scored()`` keeps the
    episodes evaluate() counted.

    evaluate() splits the episodes over the sub-envs by ``episode_quota`` and lets a sub-env that met its quota run
    on while the others finish, so each sub-env's first ``quota`` recorded episodes are the scored ones, in the
    order of evaluate()'s per-episode arrays. Build the sub-envs in order (``SyncVectorEnv``, in-process).
    """

    def __init__(self, xy_indices: Sequence[int] = (0, 1)) -> None:
        self.xy_indices = xy_indices
        self.stores: list[list[RecordedPath]] = []

    def __call__(self, env: gym.Env) -> PathRecorder:
        self.stores.append([])
        return PathRecorder(env, self.xy_indices, store=self.stores[-1])

    def scored(self, num_episodes: int) -> list[RecordedPath]:
        from rlkit.trainers.evaluation import episode_quota

        quota = episode_quota(num_episodes, len(self.stores))
        return [path for store, q in zip(self.stores, quota) for path in store[:q]]
