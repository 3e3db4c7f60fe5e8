"""Walk the ant through a maze to a goal: shortest cell paths (``rlkit.envs.maze_planning``) + the trotting gait.

The ant cannot follow a PD law on its position like D4RL's point mass, but the gait walks in any commanded direction,
so the navigator only has to say where to walk: toward the next cell on a shortest path to the goal's cell, then to
the goal itself. A waypoint counts as reached as soon as the ant enters its cell, or within ``waypoint_radius`` of its
centre (1 m: the ant is ~1 m wide and the cells 4 m), which keeps the walk flowing around corners. The next cell is
read from a precomputed next-hop table at the ant's cell every step, so a new goal is replanned at once.

Surface for subclasses: ``direction(xy, goal)`` (where to walk) and the gait's ``act``.
"""

from __future__ import annotations

import numpy as np

from rlkit.agents.ant_gait import TrotGait
from rlkit.envs.maze_planning import UNREACHABLE, MazeGrid


class AntMazeNavigator:
    """``act(qpos, qvel, goal) -> action (8,)`` for one ant in a maze; ``waypoint`` is the point it heads for.

    Args:
        grid: the maze (``MazeGrid.from_maze(env.unwrapped.maze)``).
        gait: the walking block.
        waypoint_radius: distance (m) to an intermediate cell centre that counts as reaching it.
    """

    def __init__(self, grid: MazeGrid, gait: TrotGait, *, waypoint_radius: float = 1.0) -> None:
        self.grid = grid
        self.gait = gait
        self.waypoint_radius = float(waypoint_radius)
        self._hop = grid.next_hop
        self._free = grid.free.reshape(-1)
        self._centres = grid.cell_center(grid.unflat(np.arange(grid.free.size)))  # (H*W, 2)
        self._free_centres = grid.cell_center(grid.free_cells)

    def _free_cell_near(self, xy: np.ndarray) -> int:
        """The cell containing ``xy``, or the nearest free cell if ``xy`` lies in a wall cell (pressed against it)."""
        cell = int(self.grid.cell_index(xy))
        if self._free[cell]:
            return cell
        nearest = self.grid.free_cells[np.argmin(((self._free_centres - xy) ** 2).sum(-1))]
        return int(self.grid.flat(nearest))

    def goal_cell(self, goal: np.ndarray) -> int:
        """Flat index of the cell holding ``goal``; ``ValueError`` if it is a wall."""
        cell = int(self.grid.cell_index(np.asarray(goal, dtype=np.float64)[:2]))
        if not self._free[cell]:
            raise ValueError(
                f"goal {np.asarray(goal).tolist()} lies in wall cell {self.grid.unflat(cell).tolist()}; "
                "expected a point inside a free cell"
            )
        return cell

    def waypoint(self, xy: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """The point to walk toward now (2,): the centre of the next cell on a shortest path, or the goal itself.

        The path is read from the next-hop table at the ant's current cell each step, so a new goal (or an ant
        pushed off its path) is replanned at once; waypoints within ``waypoint_radius`` are skipped.
        """
        xy = np.asarray(xy, dtype=np.float64)[:2]
        goal = np.asarray(goal, dtype=np.float64)[:2]
        goal_cell = self.goal_cell(goal)
        here = self._free_cell_near(xy)
        nxt = int(self._hop[goal_cell, here])
        if nxt == UNREACHABLE:
            raise ValueError(
                f"goal cell {self.grid.unflat(goal_cell).tolist()} cannot be reached from cell "
                f"{self.grid.unflat(here).tolist()}: the maze does not connect them"
            )
        while nxt != goal_cell:
            centre = self._centres[nxt]
            if np.hypot(centre[0] - xy[0], centre[1] - xy[1]) >= self.waypoint_radius:
                return centre
            nxt = int(self._hop[goal_cell, nxt])
        return goal

    def direction(self, xy: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Unit world-frame direction (2,) to walk in (zero at the goal)."""
        gap = self.waypoint(xy, goal) - np.asarray(xy, dtype=np.float64)[:2]
        norm = np.hypot(gap[0], gap[1])
        return gap / norm if norm > 1e-9 else np.zeros(2)

    def act(self, qpos: np.ndarray, qvel: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Gait action (8,) walking the ant with state (qpos, qvel) toward ``goal`` (2,) through the maze."""
        return self.gait.act(qpos, qvel, self.direction(qpos[:2], goal))
