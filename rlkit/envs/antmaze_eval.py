"""The evaluation env of the locally built antmaze-*-v2 datasets: D4RL's task on gymnasium-robotics' AntMaze.

D4RL's antmaze evaluation: the ant starts at the maze's start cell, must reach the fixed evaluation goal, gets reward 1
within 0.5 of it (0 elsewhere), the episode ends when it gets there (D4RL's ``eval=True``) or after 700 (umaze) / 1000
(medium, large) steps; observations are the ant's qpos (15) + qvel (14). The datasets of
``rlkit.data.generators.antmaze`` use gymnasium-robotics' frame and the ant's MuJoCo state for that 29-d observation,
so this env reads the same state, steps the ant's physics as the generator does, and takes the maze specs (env id,
start and goal cells) and the reward function from that module.
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np

EVAL_EPISODE_STEPS = {"umaze": 700, "medium": 1000, "large": 1000}  # D4RL's time limits of antmaze-*-v2
_NAME = re.compile(r"^antmaze-(?P<maze>umaze|medium|large)(-(play|diverse))?-v\d+$")


class AntMazeEvalEnv(gym.Env):
    """Reach the maze's evaluation goal with the ant: observation (29,), action (8,) in [-1, 1].

    ``info["success"]``: the torso is within 0.5 of the goal; ``info["goal"]``: the goal (x, y).
    """

    metadata = {"render_modes": []}

    def __init__(self, maze: str = "umaze", max_episode_steps: int | None = None) -> None:
        from rlkit.data.generators.antmaze import MAZES, make_ant_maze
        from rlkit.envs.ant_state import ant_mujoco_env
        from rlkit.envs.maze_planning import MazeGrid

        if maze not in MAZES:
            raise ValueError(f"unknown antmaze maze {maze!r}; expected one of {sorted(MAZES)}")
        spec = MAZES[maze]
        self.maze = maze
        self.max_episode_steps = EVAL_EPISODE_STEPS[maze] if max_episode_steps is None else int(max_episode_steps)
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps={max_episode_steps}; expected a positive number of steps")
        self._env = make_ant_maze(spec.env_id)
        self._ant = ant_mujoco_env(self._env)
        grid = MazeGrid.from_maze(self._env.unwrapped.maze)
        self.start_cell, self.goal_cell = spec.start_cell, spec.eval_goal_cell
        self.goal = grid.cell_center(np.array(spec.eval_goal_cell)).astype(np.float64)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(29,), dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(self._ant.action_space.shape[0],), dtype=np.float32)
        self._steps = 0

    def _observation(self) -> np.ndarray:
        from rlkit.envs.ant_state import ant_observation

        return ant_observation(self._ant.data.qpos, self._ant.data.qvel).astype(np.float64)

    def reward_of(self, next_xy: np.ndarray) -> np.ndarray:
        """D4RL's sparse reward for arriving at each (x, y) of ``next_xy`` (N, >=2): float32 (N,)."""
        from rlkit.data.generators.antmaze import sparse_rewards

        xy = np.asarray(next_xy, dtype=np.float64).reshape(-1, np.shape(next_xy)[-1])[:, :2]
        return sparse_rewards(xy, self.goal)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        inner_seed = None if seed is None else int(self.np_random.integers(2**31 - 1))
        cells = {"reset_cell": np.array(self.start_cell), "goal_cell": np.array(self.goal_cell)}
        self._env.reset(seed=inner_seed, options=cells)
        self._env.unwrapped.goal = self.goal.copy()  # gymnasium-robotics jitters the goal; the evaluation goal is exact
        self._env.unwrapped.update_target_site_pos()
        self._steps = 0
        observation = self._observation()
        return observation, {"success": False, "goal": self.goal.copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self._ant.do_simulation(action, self._ant.frame_skip)
        self._steps += 1
        observation = self._observation()
        reward = float(self.reward_of(observation[None, :2])[0])
        success = reward > 0
        info = {"success": success, "goal": self.goal.copy()}
        return observation, reward, success, self._steps >= self.max_episode_steps, info

    def close(self) -> None:
        self._env.close()
        super().close()


def make_antmaze_env(name: str, **kwargs: Any) -> AntMazeEvalEnv:
    """The evaluation env of dataset ``name``: antmaze-{umaze,umaze-diverse,medium-*,large-*}-v*."""
    match = _NAME.match(name)
    if match is None:
        expected = "antmaze-{umaze,medium,large}[-play|-diverse]-vN"
        raise ValueError(f"unknown antmaze dataset {name!r}; expected {expected}")
    return AntMazeEvalEnv(match["maze"], **kwargs)
