"""A maze with one number per free cell, as coloured squares: e.g. the success rate of reaching each cell as a goal.

A table of seven goals times several runs is hard to read; the same numbers laid out on the maze show at once which
parts of it a method reaches. Drawn on a bare matplotlib ``Figure`` (Agg), so it needs no display.

Example:
    >>> plot_cell_values({"seed 0": {(-1, 1): 0.66, (1, 0): 0.96}}, env.unwrapped.grid, "cells.png")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rlkit.envs.maze_planning import MazeGrid
from rlkit.envs.path_plot import maze_panels, save_with_title


def cells_of_points(points: Mapping[Sequence[float], float], grid: MazeGrid, panel: str = "") -> dict[tuple, float]:
    """``{(row, col): value}`` for ``{(x, y): value}``; raises if a point is on a wall or two share a cell."""
    cells: dict[tuple, float] = {}
    owner: dict[tuple, tuple] = {}
    where = f" (panel {panel!r})" if panel else ""
    for point, value in points.items():
        xy = np.asarray(point, dtype=np.float64)
        if xy.shape != (2,):
            raise ValueError(f"cell plot{where}: key {point!r} is not an (x, y) point")
        cell = tuple(int(v) for v in grid.cell_of(xy))
        if not grid.free[cell]:
            raise ValueError(f"cell plot{where}: point {tuple(xy.tolist())} lies in wall cell {cell}")
        if cell in cells:
            raise ValueError(f"cell plot{where}: points {owner[cell]} and {tuple(xy.tolist())} share cell {cell}")
        cells[cell], owner[cell] = float(value), tuple(xy.tolist())
    return cells


def plot_cell_values(
    panels: Mapping[str, Mapping[Sequence[float], float]],
    grid: MazeGrid,
    out_png: str | os.PathLike,
    *,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "RdYlGn",
    label: str = "",
    ncols: int | None = None,
    title: str | None = None,
) -> Path:
    """Write one panel per entry of ``panels`` (title -> {(x, y): value}) and return the PNG's path.

    Each point's cell is filled with the colour of its value (``cmap`` over ``[vmin, vmax]``) and labelled with it;
    free cells without a value stay white, walls grey. ``label`` names the colour bar.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    if not panels:
        raise ValueError("panels is empty; expected at least one title -> {(x, y): value} entry")
    if not vmax > vmin:
        raise ValueError(f"need vmax > vmin; got vmin={vmin}, vmax={vmax}")
    cells = {name: cells_of_points(points, grid, name) for name, points in panels.items()}
    norm, colours = Normalize(vmin, vmax), colormaps[cmap]
    fig, axes, width = maze_panels(grid, len(cells), ncols, title, extra_width=0.8)
    for ax, (name, values) in zip(axes, cells.items()):
        for cell, value in values.items():
            x, y = grid.cell_center(np.array(cell)) - grid.scaling / 2
            ax.add_patch(Rectangle((x, y), grid.scaling, grid.scaling, color=colours(norm(value)), linewidth=0))
            ax.text(x + grid.scaling / 2, y + grid.scaling / 2, f"{value:.2f}", ha="center", va="center", fontsize=8)
        mean = float(np.mean(list(values.values()))) if values else float("nan")
        ax.set_title(f"{name}\nmean {mean:.2f}", fontsize=8)
    fig.colorbar(ScalarMappable(norm, colours), ax=axes, label=label, shrink=0.8)
    return save_with_title(fig, out_png, title, width)
