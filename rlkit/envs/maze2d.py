"""The evaluation env of the locally built maze2d-* datasets: a point mass in gymnasium-robotics' PointMaze.

D4RL evaluates maze2d policies on a fixed goal (the maze's ``G`` cell) with a sparse reward of 1 within 0.5 of it,
no termination, and a time limit per maze. The datasets of ``rlkit.data.generators.maze2d`` are defined in
gymnasium-robotics' frame, so this env must be too: it takes the maze spec (env id, episode length, goal cell) and the
reward function from that module, steps the same inner point env the generator steps, and so agrees with the dataset
on observations (x, y, vx, vy), dynamics and rewards. Starts: a uniformly drawn free cell, the goal's included, as
D4RL's reset, with gymnasium-robotics' position noise (±0.25 of a cell) and zero velocity.

Example:
    >>> env = make_maze2d_env("maze2d-umaze-v1")
    >>> obs, info = env.reset(seed=0)
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.data.generators.maze2d import MAZES, SPARSE_RADIUS, make_point_maze, maze_rewards
from rlkit.envs.maze_planning import MazeGrid

REWARD_TYPES = ("sparse", "dense")
_NAME = re.compile(r"^maze2d-(?P<maze>[a-z]+)(?P<dense>-dense)?-v\d+$")


class Maze2DEnv(gym.Env):
    """Reach the maze's evaluation goal: observation (x, y, vx, vy), action (2,) in [-1, 1].

    maze: "umaze", "medium" or "large". reward_type: "sparse" (1 within 0.5 of the goal) or "dense" (exp(-distance)).
    max_episode_steps: defaults to D4RL's for the maze (300, 600, 800); the episode is then truncated, never
    terminated. ``info["success"]``: the point is within 0.5 of the goal; ``info["goal"]``: the goal (x, y).
    ``grid``: the maze's ``MazeGrid`` (free cells, cell centres in this env's frame).
    """

    metadata = {"render_modes": []}

    def __init__(self, maze: str = "umaze", reward_type: str = "sparse", max_episode_steps: int | None = None) -> None:
        if maze not in MAZES:
            raise ValueError(f"unknown maze {maze!r}; expected one of {sorted(MAZES)}")
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type {reward_type!r}; expected one of {REWARD_TYPES}")
        spec = MAZES[maze]
        self.maze, self.reward_type = maze, reward_type
        self.max_episode_steps = spec.max_episode_steps if max_episode_steps is None else int(max_episode_steps)
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps={max_episode_steps}; expected a positive number of steps")
        self._env = make_point_maze(spec.env_id)
        self._maze_env = self._env.unwrapped
        self._point = self._maze_env.point_env  # the generator steps this env directly, and so do we
        self.grid = grid = MazeGrid.from_maze(self._maze_env.maze)  # free cells and the world frame, for plots
        self.goal_cell = spec.eval_goal_cell
        self.goal = grid.cell_center(np.array(spec.eval_goal_cell)).astype(np.float64)
        self._start_cells = grid.free_cells
        self.observation_space = self._point.observation_space
        self.action_space = self._point.action_space
        self._steps = 0

    def reward_of(self, next_observations: np.ndarray) -> np.ndarray:
        """The reward for arriving at each of ``next_observations`` (N, >=2; x, y first): float32 (N,)."""
        xy = np.asarray(next_observations, dtype=np.float64).reshape(-1, np.shape(next_observations)[-1])[:, :2]
        return maze_rewards(xy, self.goal, self.reward_type)

    def _info(self, observation: np.ndarray) -> dict[str, Any]:
        distance = float(np.hypot(*(observation[:2] - self.goal)))
        return {"success": distance <= SPARSE_RADIUS, "goal": self.goal.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        start = self._start_cells[self.np_random.integers(len(self._start_cells))]
        inner_seed = None if seed is None else int(self.np_random.integers(2**31 - 1))
        cells = {"goal_cell": np.array(self.goal_cell), "reset_cell": np.array(start)}
        observation = self._maze_env.reset(seed=inner_seed, options=cells)[0]["observation"]
        self._maze_env.goal = self.goal.copy()  # gymnasium-robotics jitters the goal; the evaluation goal is exact
        self._maze_env.update_target_site_pos()
        self._steps = 0
        return observation, self._info(observation)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        observation = self._point.step(np.asarray(action, dtype=np.float64))[0]
        self._steps += 1
        reward = float(self.reward_of(observation[None])[0])
        return observation, reward, False, self._steps >= self.max_episode_steps, self._info(observation)

    def set_state(self, observation: np.ndarray) -> None:
        """Put the point at (x, y) with velocity (vx, vy) from a 4-d observation (e.g. a dataset row)."""
        observation = np.asarray(observation, dtype=np.float64).reshape(-1)
        if observation.shape != (4,):
            raise ValueError(f"observation has shape {observation.shape}; expected (4,) = (x, y, vx, vy)")
        self._point.set_state(observation[:2], observation[2:])

    def close(self) -> None:
        self._env.close()
        super().close()


def make_maze2d_env(name: str, **kwargs: Any) -> Maze2DEnv:
    """The evaluation env of dataset ``name``: maze2d-{umaze,medium,large}[-dense]-v1."""
    match = _NAME.match(name)
    if match is None or match["maze"] not in MAZES:
        raise ValueError(
            f"unknown maze2d dataset {name!r}; expected maze2d-{{{','.join(MAZES)}}}[-dense]-v1 "
            "(the mazes rlkit's generator builds)"
        )
    return Maze2DEnv(match["maze"], "dense" if match["dense"] else "sparse", **kwargs)
