"""Shortest paths over a maze grid, and the cell <-> world coordinates of gymnasium-robotics mazes.

The planner works on a plain 0/1 grid (1 = wall, anything else free), as ``maze_map`` of gymnasium-robotics'
PointMaze and AntMaze gives it, so waypoint controllers for any agent (point mass, ant) share it. Distances come from
breadth-first searches run for every goal cell at once as array operations: a whole maze's next-hop table is ready
in milliseconds and a controller looks its next cell up instead of searching during a rollout.

Cells are ``(row, col)``; ``row`` grows downwards in the printed map. ``MazeGrid`` adds gymnasium-robotics' world
frame: x grows with ``col``, y shrinks with ``row``, the maze centred on the origin, cells ``scaling`` wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

UNREACHABLE = -1
# Neighbour offsets (row, col), in the order ties between equally short paths are broken: up, down, left, right.
MOVES = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)], dtype=np.int64)


def free_mask(grid: Sequence[Sequence[object]] | np.ndarray) -> np.ndarray:
    """Boolean (H, W) array, True where the cell is not a wall (the value 1).

    gymnasium-robotics marks goal/reset cells with the strings "g", "r", "c"; those count as free.
    """
    if isinstance(grid, np.ndarray) and grid.dtype == bool:
        if grid.ndim != 2 or grid.size == 0:
            raise ValueError(f"maze grid has shape {grid.shape}; expected a non-empty (H, W) array")
        return grid
    rows = [list(row) for row in grid]
    if not rows or not rows[0]:
        raise ValueError("maze grid is empty; expected a non-empty list of rows of 0/1 cells")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"maze grid row {i} has {len(row)} cells; expected {width} like row 0")
    return np.array([[not (isinstance(c, (int, np.integer)) and c == 1) for c in row] for row in rows], dtype=bool)


def _breadth_first(free: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Distances (G, H, W) from the True cells of each source layer ``sources`` (G, H, W); -1 where unreachable."""
    dist = np.full(sources.shape, UNREACHABLE, dtype=np.int64)
    frontier = sources & free
    visited = frontier.copy()
    step = 0
    while frontier.any():
        dist[frontier] = step
        grown = np.zeros_like(frontier)
        grown[:, 1:, :] |= frontier[:, :-1, :]
        grown[:, :-1, :] |= frontier[:, 1:, :]
        grown[:, :, 1:] |= frontier[:, :, :-1]
        grown[:, :, :-1] |= frontier[:, :, 1:]
        frontier = grown & free & ~visited
        visited |= frontier
        step += 1
    return dist


def distance_maps(free: np.ndarray) -> np.ndarray:
    """Shortest-path lengths (4-connected moves) between every pair of cells.

    ``d[g, i, j]`` (int64, shape (H*W, H, W)) is the number of moves from cell (i, j) to the goal cell with flat
    index ``g = row * W + col``; ``UNREACHABLE`` (-1) for walls and disconnected cells.
    """
    free = free_mask(free)
    h, w = free.shape
    sources = np.eye(h * w, dtype=bool).reshape(h * w, h, w)
    return _breadth_first(free, sources)


def next_hop_table(free: np.ndarray) -> np.ndarray:
    """``hop[g, c]``: flat index of the cell to move to from cell ``c`` along a shortest path to goal cell ``g``.

    ``hop[g, g] == g``; ``UNREACHABLE`` where ``c`` is a wall or cannot reach ``g``. Shape (H*W, H*W), int64.
    """
    free = free_mask(free)
    h, w = free.shape
    n = h * w
    dist = distance_maps(free)
    far = np.iinfo(np.int64).max
    padded = np.full((n, h + 2, w + 2), far, dtype=np.int64)
    padded[:, 1:-1, 1:-1] = np.where(dist >= 0, dist, far)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    neighbour_dist = np.stack([padded[:, 1 + rows + dr, 1 + cols + dc] for dr, dc in MOVES], axis=-1)
    best = neighbour_dist.argmin(axis=-1)  # the first of tied moves, in MOVES order
    hop = ((rows[None] + MOVES[best, 0]) * w + cols[None] + MOVES[best, 1]).reshape(n, n)
    flat_dist = dist.reshape(n, n)
    hop[flat_dist == 0] = np.nonzero(flat_dist == 0)[1]
    hop[flat_dist == UNREACHABLE] = UNREACHABLE
    return hop


def shortest_path(
    grid: Sequence[Sequence[object]] | np.ndarray, start: tuple[int, int], goal: tuple[int, int]
) -> list[tuple[int, int]]:
    """Cells ``[start, ..., goal]`` of a shortest 4-connected path; ``ValueError`` if there is none."""
    free = free_mask(grid)
    h, w = free.shape
    for label, (r, c) in (("start", start), ("goal", goal)):
        if not (0 <= r < h and 0 <= c < w):
            raise ValueError(f"{label} cell {(r, c)} is outside the {h}x{w} maze")
        if not free[r, c]:
            raise ValueError(f"{label} cell {(r, c)} is a wall")
    sources = np.zeros((1, h, w), dtype=bool)
    sources[0, goal[0], goal[1]] = True
    dist = _breadth_first(free, sources)[0]
    if dist[start] == UNREACHABLE:
        raise ValueError(f"goal cell {tuple(goal)} cannot be reached from start cell {tuple(start)}: not connected")
    path = [(int(start[0]), int(start[1]))]
    r, c = path[0]
    while dist[r, c] > 0:
        for dr, dc in MOVES:
            nr, nc = r + int(dr), c + int(dc)
            if 0 <= nr < h and 0 <= nc < w and dist[nr, nc] == dist[r, c] - 1:
                r, c = nr, nc
                break
        path.append((r, c))
    return path


@dataclass(frozen=True, eq=False)
class MazeGrid:
    """A maze's free cells and gymnasium-robotics' world frame for them (``Maze.cell_rowcol_to_xy``).

    Build it from an env with ``MazeGrid.from_maze(env.unwrapped.maze)``.
    """

    free: np.ndarray
    scaling: float = 1.0

    @classmethod
    def from_map(cls, maze_map: Sequence[Sequence[object]], scaling: float = 1.0) -> MazeGrid:
        return cls(free_mask(maze_map), float(scaling))

    @classmethod
    def from_maze(cls, maze) -> MazeGrid:
        """From a ``gymnasium_robotics.envs.maze.maze_v4.Maze`` (``env.unwrapped.maze``)."""
        return cls.from_map(maze.maze_map, maze.maze_size_scaling)

    @property
    def shape(self) -> tuple[int, int]:
        return self.free.shape

    @cached_property
    def free_cells(self) -> np.ndarray:
        """(K, 2) int64 ``(row, col)`` of the free cells, in row-major order."""
        return np.argwhere(self.free).astype(np.int64)

    @cached_property
    def next_hop(self) -> np.ndarray:
        """``next_hop_table(self.free)``, computed once."""
        return next_hop_table(self.free)

    def flat(self, cells: np.ndarray) -> np.ndarray:
        """Flat indices ``row * W + col`` of ``cells`` (..., 2)."""
        cells = np.asarray(cells)
        return cells[..., 0] * self.shape[1] + cells[..., 1]

    def unflat(self, index: np.ndarray) -> np.ndarray:
        """``(row, col)`` (..., 2) of flat indices."""
        index = np.asarray(index)
        return np.stack([index // self.shape[1], index % self.shape[1]], axis=-1)

    def cell_center(self, cells: np.ndarray) -> np.ndarray:
        """World ``(x, y)`` (..., 2) of the centres of ``cells`` (..., 2)."""
        cells = np.asarray(cells, dtype=np.float64)
        h, w = self.shape
        x = (cells[..., 1] + 0.5 - w / 2) * self.scaling
        y = (h / 2 - cells[..., 0] - 0.5) * self.scaling
        return np.stack([x, y], axis=-1)

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """``(row, col)`` (..., 2) int64 of the cells containing world points ``xy`` (..., 2), clamped to the grid."""
        return self.unflat(self.cell_index(xy))

    def cell_index(self, xy: np.ndarray) -> np.ndarray:
        """Flat index (...,) of the cells containing world points ``xy`` (..., 2), clamped to the grid."""
        xy = np.asarray(xy, dtype=np.float64)
        h, w = self.shape
        # ufunc min/max rather than np.clip: this runs every control step, where np.clip's overhead dominates.
        row = np.minimum(np.maximum(np.floor(h / 2 - xy[..., 1] / self.scaling), 0), h - 1)
        col = np.minimum(np.maximum(np.floor(xy[..., 0] / self.scaling + w / 2), 0), w - 1)
        return (row * w + col).astype(np.int64)
