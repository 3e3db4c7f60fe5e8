"""A waypoint controller that drives a point mass through a maze to a goal, as D4RL's maze2d datasets were made.

D4RL (``d4rl/pointmaze/waypoint_controller.py``) plans a shortest path over the maze cells to the goal's cell, then
steers with a PD law toward the centre of the next cell on the path (each intermediate centre jittered a little so
paths vary), moving on to the following cell once within ``waypoint_threshold`` of it, and finally to the goal.
This class does the same for a batch of B independent agents at once (B = 1 is the common case), with the paths
read from a precomputed next-hop table (``rlkit.envs.maze_planning``), so a step costs a few array operations.

Surface for subclasses: ``target(position, goal)`` (where to head now; keeps the path state) and
``control(position, velocity, target)`` (the low-level law), e.g. a learned goal-reaching policy for an ant.
"""

from __future__ import annotations

import numpy as np

from rlkit.envs.maze_planning import UNREACHABLE, MazeGrid


class MazeWaypointController:
    """PD controller along shortest cell paths: ``act(obs, goal) -> action`` for observations ``(x, y, vx, vy, ...)``.

    Args:
        grid: the maze (``MazeGrid.from_maze(env.unwrapped.maze)``).
        p_gain, d_gain: action = clip(p_gain * (target - position) + d_gain * velocity, -action_limit, action_limit);
            D4RL uses 10 and -1.
        waypoint_threshold: distance to a waypoint (and to the goal) that counts as reaching it (D4RL: 0.1).
        waypoint_jitter: intermediate waypoints are cell centres plus U(-jitter, jitter) * scaling per coordinate.
        snap_goal_to_cell: head for the centre of the goal's cell (D4RL) rather than the goal point itself.
        seed: seeds the jitter (a ``numpy.random.Generator`` is also accepted).
    """

    def __init__(
        self,
        grid: MazeGrid,
        *,
        p_gain: float = 10.0,
        d_gain: float = -1.0,
        waypoint_threshold: float = 0.1,
        waypoint_jitter: float = 0.1,
        snap_goal_to_cell: bool = True,
        action_limit: float = 1.0,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.grid = grid
        self.p_gain = float(p_gain)
        self.d_gain = float(d_gain)
        self.waypoint_threshold = float(waypoint_threshold)
        self.waypoint_jitter = float(waypoint_jitter)
        self.snap_goal_to_cell = bool(snap_goal_to_cell)
        self.action_limit = float(action_limit)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._hop = grid.next_hop
        self._centers = grid.cell_center(grid.unflat(np.arange(grid.free.size)))  # (H*W, 2)
        self._nearest_free = self._nearest_free_cells(grid)
        self.reset()

    @staticmethod
    def _nearest_free_cells(grid: MazeGrid) -> np.ndarray:
        """Flat index of the closest free cell to every cell (itself when free), for positions pushed into walls."""
        all_cells = grid.unflat(np.arange(grid.free.size))
        free = grid.free_cells
        d2 = ((all_cells[:, None, :] - free[None, :, :]) ** 2).sum(-1)
        return grid.flat(free[d2.argmin(axis=1)])

    def reset(self) -> None:
        """Forget the current paths; the next call plans from scratch."""
        self._goal_cell = np.empty(0, dtype=np.int64)
        self._waypoint_cell = np.empty(0, dtype=np.int64)
        self._waypoint_xy = np.empty((0, 2))

    def _goal_point(self, goal: np.ndarray, goal_cell: np.ndarray) -> np.ndarray:
        return self._centers[goal_cell] if self.snap_goal_to_cell else goal

    def goal_point(self, goal: np.ndarray) -> np.ndarray:
        """The point finally steered to for ``goal`` (B, 2): the centre of its cell, or the goal itself."""
        goal = np.asarray(goal, dtype=np.float64)
        return self._goal_point(goal, self.grid.cell_index(goal))

    def goal_reached(self, position: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Bool (B,) or scalar: ``position`` (B, 2) is within ``waypoint_threshold`` of the goal point."""
        gap = np.asarray(position)[..., :2] - self.goal_point(goal)
        return np.hypot(gap[..., 0], gap[..., 1]) < self.waypoint_threshold

    def _check_goal_cells(self, goal: np.ndarray, cells: np.ndarray) -> None:
        bad = ~self.grid.free.reshape(-1)[cells]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"goal {goal[i].tolist()} lies in wall cell {self.grid.unflat(cells[i]).tolist()}; "
                "expected a point inside a free cell of the maze"
            )

    def target(self, position: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Where each agent should head now, (B, 2); advances along the path and replans when a goal cell changes."""
        position = np.asarray(position, dtype=np.float64).reshape(-1, 2)
        goal = np.asarray(goal, dtype=np.float64).reshape(-1, 2)
        goal_cell = self.grid.cell_index(goal)
        if self._goal_cell.shape != goal_cell.shape:
            self._goal_cell = np.full(goal_cell.shape, UNREACHABLE, dtype=np.int64)
            self._waypoint_cell = np.full(goal_cell.shape, UNREACHABLE, dtype=np.int64)
            self._waypoint_xy = np.zeros(goal.shape)
        new_goal = goal_cell != self._goal_cell
        if new_goal.any():
            self._check_goal_cells(goal, goal_cell)
            here = self._nearest_free[self.grid.cell_index(position[new_goal])]
            self._move_to(new_goal, goal_cell[new_goal], self._hop[goal_cell[new_goal], here])
        gap = self._waypoint_xy - position
        at_waypoint = (np.hypot(gap[:, 0], gap[:, 1]) < self.waypoint_threshold) & (self._waypoint_cell != goal_cell)
        if at_waypoint.any():
            cells = goal_cell[at_waypoint]
            self._move_to(at_waypoint, cells, self._hop[cells, self._waypoint_cell[at_waypoint]])
        final = self._waypoint_cell == goal_cell
        if final.any():
            return np.where(final[:, None], self._goal_point(goal, goal_cell), self._waypoint_xy)
        return self._waypoint_xy.copy()

    def _move_to(self, mask: np.ndarray, goal_cell: np.ndarray, next_cell: np.ndarray) -> None:
        """Make ``next_cell`` the waypoint of the agents in ``mask``, at its centre plus jitter."""
        self._goal_cell[mask] = goal_cell
        self._waypoint_cell[mask] = next_cell
        jitter = self.rng.uniform(-self.waypoint_jitter, self.waypoint_jitter, size=(next_cell.shape[0], 2))
        self._waypoint_xy[mask] = self._centers[next_cell] + jitter * self.grid.scaling

    def control(self, position: np.ndarray, velocity: np.ndarray, target: np.ndarray) -> np.ndarray:
        """PD law toward ``target``, clipped to the action limit."""
        action = self.p_gain * (target - position) + self.d_gain * velocity
        return np.minimum(np.maximum(action, -self.action_limit), self.action_limit)

    def act(self, obs: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Action(s) for observation(s) ``(x, y, vx, vy, ...)`` of shape (4,) or (B, 4) toward goal(s) (2,) / (B, 2)."""
        obs = np.asarray(obs, dtype=np.float64)
        batch = obs.reshape(-1, obs.shape[-1])
        position, velocity = batch[:, :2], batch[:, 2:4]
        action = self.control(position, velocity, self.target(position, goal))
        return action.reshape(obs.shape[:-1] + (2,))
