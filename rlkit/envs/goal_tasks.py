"""PTGM's downstream tasks: sparse-reward goal reaching in a point maze, and the four-task FrankaKitchen.

Maze: :class:`MazeGoalEnv` runs the point mass of :class:`~rlkit.envs.maze2d.Maze2DEnv` (the dynamics the maze2d
datasets were generated with) towards a target (x, y) of our choosing: reward 1 within ``radius`` of the target and
0 elsewhere, ``info["success"]``, and optionally ``terminated`` on success. Unlike ``Maze2DEnv`` (a random start in
any cell, the goal cell included, and D4RL's one fixed goal), a task fixes both ends, so "how many env steps until the
goal is reached" means the same thing for every method compared. ``MAZE_GOAL_TASKS`` names three goals per maze, all
far (by shortest path) from a common start; the goal = obs dims [0, 1] (x, y). Its "antmaze-*" task sets run the ant
instead (``rlkit.envs.antmaze_goal.AntMazeGoalEnv``: the same interface, the antmaze datasets' 29-d observation whose
dims [0, 1] are the torso's x, y); ``make_maze_goal_env`` builds either from a task name.

Kitchen: :func:`make_kitchen_env` is gymnasium-robotics' FrankaKitchen-v1 with the original's four tasks (microwave,
kettle, bottom burner, light switch), its Dict observation flattened to D4RL's 60-d layout (so networks pretrained on
D4RL-format kitchen data act on it unchanged) or kept in gymnasium's 59-d layout. ``KITCHEN_GOAL_DIMS`` is PTGM's 21
goal dims in either layout (``rlkit.envs.kitchen_layout``).

Example:
    >>> env = make_maze_goal_env("medium-bottom-right")
    >>> obs, info = env.reset(seed=0)            # obs = (x, y, vx, vy) near the start cell's centre
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlkit.envs.kitchen_layout import (
    D4RL_OBS_DIM,
    GYMNASIUM_OBS_DIM,
    PTGM_GOAL_DIMS_D4RL,
    PTGM_GOAL_DIMS_GYMNASIUM,
    TARGET_TASKS,
    gymnasium_to_d4rl,
)
from rlkit.envs.maze2d import Maze2DEnv
from rlkit.envs.maze_planning import UNREACHABLE, MazeGrid, distance_maps

if TYPE_CHECKING:
    from rlkit.envs.antmaze_goal import AntMazeGoalEnv

MAZE_GOAL_DIMS = (0, 1)  # x, y of the point mass's observation (x, y, vx, vy)
GOAL_RADIUS = 0.5  # D4RL's maze goal test
START_MODES = ("fixed", "sampled")
AGENTS = ("point", "ant")  # maze2d's point mass (MazeGoalEnv), AntMaze's ant (AntMazeGoalEnv)


@dataclass(frozen=True)
class MazeGoalTask:
    """A goal-reaching task: reach the centre of ``goal_cell`` from ``start_cell`` in maze ``maze``.

    Cells are (row, col) of gymnasium-robotics' maze map; ``max_episode_steps`` defaults to D4RL's for the maze and
    agent; ``agent`` is "point" (maze2d's point mass) or "ant" (AntMaze's ant, 4 m cells).
    """

    name: str
    maze: str
    start_cell: tuple[int, int]
    goal_cell: tuple[int, int]
    max_episode_steps: int | None = None
    agent: str = "point"


def _tasks(name: str, start: tuple[int, int], goals: dict[str, tuple[int, int]],
           agent: str = "point") -> tuple[MazeGoalTask, ...]:
    maze = name.removeprefix("antmaze-").rstrip("0123456789")
    return tuple(MazeGoalTask(f"{name}-{label}", maze, start, cell, agent=agent) for label, cell in goals.items())


# Task sets of three goals each, from one start cell. "umaze", "medium", "large": far cells (3-6, 7-10 and 13-14
# moves from the start). "medium6": three goals exactly 6 moves from (1, 1), one per branch of the maze (top,
# centre, left): far enough that undirected exploration rarely finds them, near enough for a small budget.
MAZE_GOAL_TASKS: dict[str, tuple[MazeGoalTask, ...]] = {
    "umaze": _tasks("umaze", (3, 1), {"top-left": (1, 1), "top-right": (1, 3), "middle-right": (2, 3)}),
    "medium": _tasks("medium", (1, 1), {"bottom-left": (6, 1), "top-right": (1, 6), "bottom-right": (6, 6)}),
    "medium6": _tasks("medium6", (1, 1), {"top": (2, 4), "centre": (4, 4), "left": (5, 1)}),
    "large": _tasks("large", (1, 1), {"bottom-right": (7, 9), "top-right": (1, 10), "bottom-middle": (7, 4)}),
    # The ant, from D4RL antmaze's start cell (1, 1). umaze: 2, 4 and 6 moves (bottom-left is D4RL's evaluation goal);
    # medium and large: the point maze's far goals (bottom-right is D4RL's evaluation goal in both).
    "antmaze-umaze": _tasks("antmaze-umaze", (1, 1), {"top-right": (1, 3), "bottom-right": (3, 3),
                                                       "bottom-left": (3, 1)}, agent="ant"),
    "antmaze-medium": _tasks("antmaze-medium", (1, 1), {"bottom-left": (6, 1), "top-right": (1, 6),
                                                         "bottom-right": (6, 6)}, agent="ant"),
    "antmaze-large": _tasks("antmaze-large", (1, 1), {"bottom-right": (7, 9), "top-right": (1, 10),
                                                       "bottom-middle": (7, 4)}, agent="ant"),
}


def maze_goal_task(name: str) -> MazeGoalTask:
    """The task named ``name`` (e.g. "medium-bottom-right", "antmaze-umaze-bottom-left"); see ``MAZE_GOAL_TASKS``."""
    for tasks in MAZE_GOAL_TASKS.values():
        for task in tasks:
            if task.name == name:
                return task
    known = [task.name for tasks in MAZE_GOAL_TASKS.values() for task in tasks]
    raise ValueError(f"unknown maze goal task {name!r}; expected one of {known}")


def resolve_target(grid: MazeGrid, maze: str, target_xy: Sequence[float] | None, target_cell: tuple[int, int] | None,
                   who: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The target (x, y) (float64) and its (row, col) from exactly one of ``target_xy`` and ``target_cell`` (its
    centre); errors, prefixed by ``who``, for both or neither, a point outside the grid's cells or in a wall."""
    if (target_xy is None) == (target_cell is None):
        raise ValueError(f"{who}: give exactly one of target_xy (x, y) and target_cell (row, col)")
    if target_cell is not None:
        row, col = (int(c) for c in target_cell)
        h, w = grid.shape
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"{who}: target_cell {(row, col)} is outside the {h}x{w} maze {maze!r}")
        target_xy = grid.cell_center(np.array([row, col]))
    target = np.asarray(target_xy, dtype=np.float64).reshape(-1)
    if target.shape != (2,) or not np.isfinite(target).all():
        raise ValueError(f"{who}: target_xy={np.asarray(target_xy).tolist()}; expected 2 finite numbers")
    cell = tuple(int(c) for c in grid.cell_of(target))
    if not grid.free[cell]:
        raise ValueError(f"{who}: target_xy={target.tolist()} lies in wall cell {cell} of maze {maze!r}")
    return target, cell


def check_goal_settings(radius: float, start_noise: float, who: str) -> None:
    """A positive success radius and a start noise that keeps the start inside its cell (cell units)."""
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"{who}: radius={radius}; expected a positive distance")
    if not 0 <= start_noise < 0.5:
        raise ValueError(f"{who}: start_noise={start_noise}; expected in [0, 0.5) (inside the cell)")


def start_cells_of(grid: MazeGrid, maze: str, start: str, cells: Sequence[tuple[int, int]] | None,
                   target_cell: tuple[int, int], min_cells: int, who: str) -> np.ndarray:
    """(S, 2) start cells: ``cells`` (start="fixed", each checked free) or every free cell ``min_cells`` or more
    moves from ``target_cell`` (start="sampled")."""
    if start not in START_MODES:
        raise ValueError(f"{who}: start={start!r}; expected one of {START_MODES}")
    h, w = grid.shape
    if start == "sampled":
        distance = distance_maps(grid.free)[grid.flat(np.array(target_cell))]
        chosen = np.argwhere((distance != UNREACHABLE) & (distance >= min_cells))
        if len(chosen) == 0:
            raise ValueError(f"{who}: no free cell lies {min_cells} or more moves from the target cell "
                             f"{target_cell}; lower min_start_cells")
        return chosen.astype(np.int64)
    if cells is None or len(cells) == 0:
        raise ValueError(f"{who}: start='fixed' needs start_cells, a non-empty list of (row, col)")
    chosen = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    for row, col in chosen:
        if not (0 <= row < h and 0 <= col < w) or not grid.free[row, col]:
            raise ValueError(f"{who}: start cell {(int(row), int(col))} is outside the {h}x{w} maze {maze!r} "
                             "or a wall")
    return chosen


def goal_info(xy: np.ndarray, target_xy: np.ndarray, radius: float) -> dict[str, Any]:
    """``success`` (within ``radius``, inclusive), ``goal`` (a copy of the target) and ``distance`` of a position."""
    distance = float(np.hypot(*(np.asarray(xy[:2], dtype=np.float64) - target_xy)))
    return {"success": distance <= radius, "goal": target_xy.copy(), "distance": distance}


class MazeGoalEnv(gym.Env):
    """The maze2d point mass with a sparse reward at ``target_xy``: observation (x, y, vx, vy), action (2,).

    Args:
        maze: "umaze", "medium" or "large".
        target_xy: the goal (x, y) in the maze's world frame; or ``target_cell``: the centre of that (row, col).
        radius: reward 1 (and ``success``) within this distance of the target, inclusive.
        terminate_on_success: end the episode (``terminated=True``) on the first success.
        start: "fixed" (uniform among ``start_cells``) or "sampled" (uniform among all free cells at least
            ``min_start_cells`` moves from the target's cell).
        start_cells: (row, col) cells to start in when ``start="fixed"``.
        start_noise: the start is the cell centre plus U(-start_noise, start_noise) per coordinate (cells are 1
            wide; gymnasium-robotics uses 0.25); velocity starts at zero.
        max_episode_steps: truncation; defaults to D4RL's for the maze (300, 600, 800).

    ``info``: ``success``, ``goal`` (the target), ``distance`` (to the target).
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
    ) -> None:
        self._env = Maze2DEnv(maze, "sparse", max_episode_steps)
        self.grid = MazeGrid.from_maze(self._env._maze_env.maze)
        who = "MazeGoalEnv"
        target, target_cell = resolve_target(self.grid, maze, target_xy, target_cell, who)
        check_goal_settings(radius, start_noise, who)
        self.maze, self.target_xy, self.radius = maze, target, float(radius)
        self.terminate_on_success, self.start_noise = terminate_on_success, float(start_noise)
        self.start_cells = start_cells_of(self.grid, maze, start, start_cells, target_cell, min_start_cells, who)
        self.max_episode_steps = self._env.max_episode_steps
        self.observation_space = self._env.observation_space
        self.action_space = self._env.action_space

    def _info(self, observation: np.ndarray) -> dict[str, Any]:
        return goal_info(observation, self.target_xy, self.radius)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._env.reset(seed=None if seed is None else int(self.np_random.integers(2**31 - 1)))
        cell = self.start_cells[self.np_random.integers(len(self.start_cells))]
        noise = self.np_random.uniform(-self.start_noise, self.start_noise, size=2) * self.grid.scaling
        observation = np.concatenate([self.grid.cell_center(cell) + noise, np.zeros(2)])
        self._env.set_state(observation)
        return observation, self._info(observation)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        observation, _, _, truncated, _ = self._env.step(action)
        info = self._info(observation)
        terminated = bool(info["success"] and self.terminate_on_success)
        return observation, float(info["success"]), terminated, bool(truncated), info

    def close(self) -> None:
        self._env.close()
        super().close()


def make_maze_goal_env(task: str | MazeGoalTask, **kwargs: Any) -> MazeGoalEnv | AntMazeGoalEnv:
    """The env of a named task (``maze_goal_task``) or a ``MazeGoalTask``: :class:`MazeGoalEnv` for the point mass,
    :class:`~rlkit.envs.antmaze_goal.AntMazeGoalEnv` for the ant; ``kwargs`` go to it (e.g. ``start="sampled"``,
    ``terminate_on_success=False``, ``max_episode_steps=300``)."""
    task = maze_goal_task(task) if isinstance(task, str) else task
    if task.agent not in AGENTS:
        raise ValueError(f"maze goal task {task.name!r} has agent {task.agent!r}; expected one of {AGENTS}")
    kwargs.setdefault("start_cells", [task.start_cell])
    kwargs.setdefault("max_episode_steps", task.max_episode_steps)
    if task.agent == "ant":
        from rlkit.envs.antmaze_goal import AntMazeGoalEnv

        return AntMazeGoalEnv(task.maze, target_cell=task.goal_cell, **kwargs)
    return MazeGoalEnv(task.maze, target_cell=task.goal_cell, **kwargs)


# ------------------------------------------------------------------------------------------------------- kitchen
KITCHEN_TASKS = TARGET_TASKS  # microwave, kettle, bottom burner, light switch (kitchen-mixed-v0's four)
KITCHEN_LAYOUTS = ("d4rl", "gymnasium")
KITCHEN_GOAL_DIMS: dict[str, tuple[int, ...]] = {"d4rl": PTGM_GOAL_DIMS_D4RL, "gymnasium": PTGM_GOAL_DIMS_GYMNASIUM}
"""PTGM's 21 goal dims (9 robot joints, bottom burner 2, light switch 2, microwave 1, kettle 7) per layout."""


def kitchen_goal_dims(layout: str = "d4rl") -> tuple[int, ...]:
    """PTGM's goal dims in the observation layout ``layout`` ("d4rl" 60-d or "gymnasium" 59-d)."""
    if layout not in KITCHEN_LAYOUTS:
        raise ValueError(f"kitchen layout {layout!r}; expected one of {KITCHEN_LAYOUTS}")
    return KITCHEN_GOAL_DIMS[layout]


class KitchenTaskEnv(gym.Wrapper):
    """FrankaKitchen-v1's Dict observation flattened to one Box: D4RL's 60-d layout (robot + objects + the tasks'
    goal vector) or gymnasium's 59-d ``observation``; ``info["success"]`` once every task is complete and
    ``info["num_completed"]`` so far. Reward stays gymnasium's: the number of tasks completed at this step."""

    def __init__(self, env: gym.Env, tasks: Sequence[str] = KITCHEN_TASKS, layout: str = "d4rl") -> None:
        super().__init__(env)
        kitchen_goal_dims(layout)  # validates the layout
        self.tasks, self.layout = tuple(tasks), layout
        dim = D4RL_OBS_DIM if layout == "d4rl" else GYMNASIUM_OBS_DIM
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float64)
        self._completed: set[str] = set()

    def _flat(self, observation: dict[str, Any]) -> np.ndarray:
        flat = np.array(observation["observation"], dtype=np.float64)  # a copy: the env reuses its buffer
        if flat.shape != (GYMNASIUM_OBS_DIM,):
            raise ValueError(f"KitchenTaskEnv: the env's 'observation' has shape {flat.shape}; expected "
                             f"({GYMNASIUM_OBS_DIM},) (FrankaKitchen-v1)")
        return gymnasium_to_d4rl(flat, self.tasks) if self.layout == "d4rl" else flat

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        self._completed.update(info.get("step_task_completions", ()))
        done = len(self._completed & set(self.tasks))
        return {**info, "num_completed": done, "success": done == len(self.tasks)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        observation, info = self.env.reset(seed=seed, options=options)
        self._completed = set()
        return self._flat(observation), self._info(info)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._flat(observation), float(reward), bool(terminated), bool(truncated), self._info(info)


def make_kitchen_env(tasks: Sequence[str] = KITCHEN_TASKS, layout: str = "d4rl", max_episode_steps: int = 280,
                     **kwargs: Any) -> KitchenTaskEnv:
    """FrankaKitchen-v1 with ``tasks`` to complete (any order), flattened to ``layout``; ``kwargs`` go to
    ``gymnasium.make`` (e.g. ``terminate_on_tasks_completed``). Needs mujoco <= 3.11 (see ENVIRONMENT notes)."""
    from rlkit.envs.kitchen_layout import TASK_INDICES

    unknown = [task for task in tasks if task not in TASK_INDICES]
    if unknown or not tasks:
        raise ValueError(f"kitchen tasks {list(tasks)}; expected a non-empty list from {sorted(TASK_INDICES)}")
    kitchen_goal_dims(layout)
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    env = gym.make("FrankaKitchen-v1", tasks_to_complete=list(tasks), max_episode_steps=max_episode_steps,
                   **kwargs)
    return KitchenTaskEnv(env, tasks, layout)
