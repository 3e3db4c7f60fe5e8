"""Sparse-reward goal reaching with AntMaze's ant: :class:`~rlkit.envs.goal_tasks.MazeGoalEnv`'s interface, the
antmaze datasets' observation.

PTGM's maze domain with the ant: a codebook, goal prior and low level pretrained on the locally built antmaze-*-v2
data must act in the downstream env unchanged, so this env reads and steps the ant exactly as
``rlkit.data.generators.antmaze`` did when it wrote those files: gymnasium-robotics' AntMaze v5 (4 m cells, the maze
centred on the origin), the observation = the ant's qpos (15) + qvel (14) (``rlkit.envs.ant_state.ant_observation``;
dims [0, 1] = torso x, y = the goal dims), actions clipped to [-1, 1] and applied with ``do_simulation`` for the ant's
frame skip. The task is ours, as in ``MazeGoalEnv``: a target (x, y) or cell, reward 1 within ``radius`` of it,
optional termination on success, fixed or sampled start cells, a time limit (D4RL's 700 / 1000 steps by default).

Example:
    >>> env = make_maze_goal_env("antmaze-umaze-bottom-left")   # rlkit.envs.goal_tasks
    >>> obs, info = env.reset(seed=0)             # (29,): torso at the start cell's centre +- 1 m, standing still
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.data.generators.antmaze import MAZES, OBS_DIM, make_ant_maze
from rlkit.envs.ant_state import ANT_NQ, ANT_NV, ant_mujoco_env, ant_observation, is_flipped
from rlkit.envs.antmaze_eval import EVAL_EPISODE_STEPS
from rlkit.envs.goal_tasks import GOAL_RADIUS, check_goal_settings, goal_info, resolve_target, start_cells_of
from rlkit.envs.maze_planning import MazeGrid


class AntMazeGoalEnv(gym.Env):
    """The ant in an AntMaze with a sparse reward at ``target_xy``: observation (29,) float64, action (8,) in [-1, 1].

    Args:
        maze: "umaze", "medium" or "large" (gymnasium-robotics' AntMaze v5 maps, as the antmaze datasets use).
        target_xy: the goal (x, y) in metres in AntMaze's frame; or ``target_cell``: the centre of that (row, col).
        radius: reward 1 (and ``success``) within this distance of the torso's (x, y), inclusive; D4RL's 0.5.
        terminate_on_success: end the episode (``terminated=True``) on the first success.
        start: "fixed" (uniform among ``start_cells``) or "sampled" (uniform among all free cells at least
            ``min_start_cells`` moves from the target's cell).
        start_cells: (row, col) cells to start in when ``start="fixed"``.
        start_noise: the torso starts at the cell centre plus U(-start_noise, start_noise) cells per coordinate
            (gymnasium-robotics and the datasets: 0.25, i.e. +-1 m), upright, legs at rest, all velocities zero.
        max_episode_steps: truncation; defaults to D4RL antmaze's (700 umaze, 1000 medium and large).
        truncate_on_flip: also truncate once the ant lies on its back (it cannot get up; the datasets cut their
            episodes there too).

    ``info``: ``success``, ``goal`` (the target), ``distance`` (torso to target), ``flipped``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        maze: str,
        target_xy: Sequence[float] | None = None,
        *,
        target_cell: tuple[int, int] | None = None,
        radius: float = GOAL_RADIUS,
        terminate_on_success: bool = True,
        start: str = "fixed",
        start_cells: Sequence[tuple[int, int]] | None = None,
        start_noise: float = 0.25,
        min_start_cells: int = 1,
        max_episode_steps: int | None = None,
        truncate_on_flip: bool = False,
    ) -> None:
        who = "AntMazeGoalEnv"
        if maze not in MAZES:
            raise ValueError(f"{who}: unknown maze {maze!r}; expected one of {sorted(MAZES)}")
        steps = EVAL_EPISODE_STEPS[maze] if max_episode_steps is None else max_episode_steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"{who}: max_episode_steps={max_episode_steps!r}; expected a positive int")
        self._env = make_ant_maze(MAZES[maze].env_id)
        self._ant = ant_mujoco_env(self._env)
        self.grid = MazeGrid.from_maze(self._env.unwrapped.maze)
        target, self._target_cell = resolve_target(self.grid, maze, target_xy, target_cell, who)
        check_goal_settings(radius, start_noise, who)
        self.maze, self.target_xy, self.radius = maze, target, float(radius)
        self.terminate_on_success, self.truncate_on_flip = bool(terminate_on_success), bool(truncate_on_flip)
        self.start_noise = float(start_noise)
        self.start_cells = start_cells_of(self.grid, maze, start, start_cells, self._target_cell, min_start_cells,
                                          who)
        self.max_episode_steps = int(steps)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(self._ant.model.nu,), dtype=np.float32)
        self._steps: int | None = None  # None until the first reset

    def _observation(self) -> np.ndarray:
        return ant_observation(self._ant.data.qpos, self._ant.data.qvel).astype(np.float64)

    def _info(self, observation: np.ndarray) -> dict[str, Any]:
        return {**goal_info(observation, self.target_xy, self.radius), "flipped": bool(is_flipped(observation[3:7]))}

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Put the ant in MuJoCo state (qpos (15,), qvel (14,)), e.g. a dataset row's obs[:15], obs[15:]; returns
        the observation. The step counter is left alone (call :meth:`reset` first)."""
        qpos, qvel = np.asarray(qpos, dtype=np.float64), np.asarray(qvel, dtype=np.float64)
        if qpos.shape != (ANT_NQ,) or qvel.shape != (ANT_NV,):
            raise ValueError(f"AntMazeGoalEnv.set_state: qpos {qpos.shape}, qvel {qvel.shape}; expected "
                             f"({ANT_NQ},) and ({ANT_NV},)")
        self._ant.set_state(qpos, qvel)
        return self._observation()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        cell = self.start_cells[self.np_random.integers(len(self.start_cells))]
        inner_seed = None if seed is None else int(self.np_random.integers(2**31 - 1))
        # AntMaze puts the ant at rest in the reset cell (its own +-1 m noise is replaced by ours below) and the
        # target site at the goal cell; the goal is then made exact, as AntMazeEvalEnv does.
        self._env.reset(seed=inner_seed, options={"reset_cell": cell, "goal_cell": np.array(self._target_cell)})
        self._env.unwrapped.goal = self.target_xy.copy()
        self._env.unwrapped.update_target_site_pos()
        qpos, qvel = self._ant.data.qpos.copy(), self._ant.data.qvel.copy()
        noise = self.np_random.uniform(-self.start_noise, self.start_noise, size=2) * self.grid.scaling
        qpos[:2] = self.grid.cell_center(cell) + noise
        observation = self.set_state(qpos, qvel)
        self._steps = 0
        return observation, self._info(observation)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._steps is None:
            raise RuntimeError("AntMazeGoalEnv.step: call reset() first")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape:
            raise ValueError(f"AntMazeGoalEnv.step: action of shape {action.shape}; expected "
                             f"{self.action_space.shape}")
        self._ant.do_simulation(np.clip(action, -1.0, 1.0), self._ant.frame_skip)
        self._steps += 1
        observation = self._observation()
        info = self._info(observation)
        terminated = bool(info["success"] and self.terminate_on_success)
        truncated = self._steps >= self.max_episode_steps or (self.truncate_on_flip and info["flipped"])
        return observation, float(info["success"]), terminated, bool(truncated), info

    def close(self) -> None:
        self._env.close()
        super().close()
