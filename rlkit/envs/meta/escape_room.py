"""Escape Room: leave the unit disc through an unknown door (BOReL's ``escape_room``, its ``PointEnvBarrier``).

Observation (x, y); action [-1, 1]^2, a step of 0.1 a; 60 steps. The unit circle is a wall (the original's ring
0.999 <= r <= 1) with a door of angular width pi/8 centred at the task angle theta ~ U[0, pi]. A step whose path first
meets the wall inside the door goes through; one that meets it elsewhere ends at 0.99 times the unit vector of the
intended position. Reward 1 while ||s'|| > 1, else 0. Start: (0, 0) (the original's evaluation start); with
``random_start=True`` a radius ~ U(0, 1) and angle ~ U(-pi, pi) (its data-collection start).
Deviation: the original compared raw angles, so a door near theta = pi missed crossings at angles just above -pi;
the door test here uses the wrapped angular difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.envs.meta.arrays import Array, as_float, broadcast_batch, common_backend, euclidean
from rlkit.envs.meta.point_mass import PointMassEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

WALL_INNER, WALL_OUTER = 0.999, 1.0
DOOR_WIDTH = np.pi / 8
BOUNCE_RADIUS = 0.99


def first_wall_contact(start: np.ndarray, displacement: np.ndarray) -> np.ndarray | None:
    """The first point of the segment start -> start + displacement inside the wall ring, or None if it misses it.

    |start + t d|^2 is a convex quadratic in t; the first contact is t = 0 when the start is in the ring, the later
    root of |.| = WALL_INNER when starting inside, the earlier root of |.| = WALL_OUTER when starting outside.
    """
    a = float(displacement @ displacement)
    b = 2.0 * float(start @ displacement)
    c0 = float(start @ start)
    if WALL_INNER**2 <= c0 <= WALL_OUTER**2:
        return start.copy()
    if a == 0.0:
        return None
    radius = WALL_INNER if c0 < WALL_INNER**2 else WALL_OUTER
    disc = b * b - 4.0 * a * (c0 - radius**2)
    if disc < 0.0:
        return None
    roots = ((-b - np.sqrt(disc)) / (2.0 * a), (-b + np.sqrt(disc)) / (2.0 * a))
    t = roots[1] if c0 < WALL_INNER**2 else roots[0]
    return start + t * displacement if 0.0 <= t <= 1.0 else None


class EscapeRoomFamily(TaskFamily):
    """Door angles on the upper half of the circle; task = (theta,)."""

    name = "EscapeRoom"
    task_dim = 1
    obs_dim = 2
    action_dim = 2
    max_episode_steps = 60

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return check_rng(rng, self.name).uniform(0.0, np.pi, size=(check_count(n, self.name), 1))

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        return broadcast_batch(euclidean(next_obs[..., :2]) > WALL_OUTER, task)

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """1 outside the unit circle after the step, else 0 (the door only matters through the dynamics)."""
        task, next_obs = common_backend(task, next_obs)
        return as_float(self.success(task, next_obs), next_obs)

    def make_env(self, task: Array | None = None, **kwargs: Any) -> EscapeRoomEnv:
        return EscapeRoomEnv(task=task, family=self, **kwargs)


class EscapeRoomEnv(PointMassEnv):
    """See the module docstring. random_start: the original's data-collection start inside the disc."""

    def __init__(
        self,
        task: Array | None = None,
        random_start: bool = False,
        max_episode_steps: int | None = None,
        family: EscapeRoomFamily | None = None,
    ) -> None:
        super().__init__(family or EscapeRoomFamily(), task, max_episode_steps)
        self.random_start = bool(random_start)

    def _start_position(self) -> np.ndarray:
        if not self.random_start:
            return np.zeros(2, dtype=np.float64)
        angle = self.np_random.uniform(-np.pi, np.pi)
        radius = self.np_random.uniform(0.0, WALL_OUTER)
        return radius * np.array([np.sin(angle), np.cos(angle)])  # the original's (sin, cos) order

    def _move(self, position: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        target = position + displacement
        contact = first_wall_contact(position, displacement)
        if contact is None:
            return target
        offset = np.arctan2(contact[1], contact[0]) - self._task[0]
        if abs((offset + np.pi) % (2.0 * np.pi) - np.pi) <= DOOR_WIDTH / 2:
            return target
        norm = np.linalg.norm(target)
        return target / norm * BOUNCE_RADIUS if norm > 0 else target
