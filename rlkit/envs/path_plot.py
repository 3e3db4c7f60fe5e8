"""Pictures of where episodes went in a maze: walls, each episode's path coloured by success, the goal.

Drawn on a bare matplotlib ``Figure`` (Agg), so it needs no display and leaves pyplot alone.

Example:
    >>> plot_paths({"random shooting": store}, env.unwrapped.grid, "paths.png", goals={"random shooting": (-1, 1)})
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlkit.envs.maze_planning import MazeGrid
from rlkit.envs.path_recorder import RecordedPath

REACHED, MISSED = "tab:green", "tab:red"


def draw_walls(ax: Any, free: np.ndarray, scaling: float) -> None:
    """Grey squares on the wall cells of a maze whose free mask is ``free``, in gymnasium-robotics' world frame."""
    from matplotlib.patches import Rectangle

    h, w = free.shape
    for r, c in np.argwhere(~free):
        x0, y0 = (c - w / 2) * scaling, (h / 2 - r - 1) * scaling
        ax.add_patch(Rectangle((x0, y0), scaling, scaling, color="0.6", linewidth=0))
    ax.set_xlim(-w / 2 * scaling, w / 2 * scaling)
    ax.set_ylim(-h / 2 * scaling, h / 2 * scaling)
    ax.set_aspect("equal")


def plot_paths(
    panels: Mapping[str, Sequence[RecordedPath]],
    grid: MazeGrid,
    out_png: str | os.PathLike,
    *,
    goals: Mapping[str, Sequence[float]] | None = None,
    success_radius: float | None = None,
    ncols: int | None = None,
    title: str | None = None,
) -> Path:
    """Write one panel per entry of ``panels`` (title -> paths) and return the PNG's path.

    A path is green if its episode succeeded and red otherwise; a dot marks its start. ``goals`` (title -> xy) adds
    a star, and a circle of ``success_radius`` around it. ``ncols`` defaults to all panels in one row.
    """
    from matplotlib.patches import Circle

    if not panels:
        raise ValueError("panels is empty; expected at least one title -> paths entry")
    fig, axes, width = maze_panels(grid, len(panels), ncols, title)
    for ax, (name, paths) in zip(axes, panels.items()):
        for path in paths:
            xy = path.positions
            color = REACHED if path.success else MISSED
            ax.plot(xy[:, 0], xy[:, 1], color=color, linewidth=0.7, alpha=0.6)
            ax.plot(xy[0, 0], xy[0, 1], "o", color=color, markersize=2.5)
        goal = None if goals is None else goals.get(name)
        if goal is not None:
            gx, gy = (float(v) for v in goal)
            if success_radius is not None:
                ax.add_patch(Circle((gx, gy), success_radius, fill=False, color="black", linestyle="--", linewidth=0.8))
            ax.plot(gx, gy, "*", color="gold", markeredgecolor="black", markersize=12)
        reached = sum(p.success for p in paths)
        ax.set_title(f"{name}\n{reached}/{len(paths)} reached", fontsize=8)
    return save_with_title(fig, out_png, title, width)


def maze_panels(grid: MazeGrid, count: int, ncols: int | None = None, title: str | None = None,
                extra_width: float = 0.0) -> tuple[Any, list[Any], float]:
    """A bare Agg figure of ``count`` panels, each the maze's walls without ticks, ``ncols`` per row (default: one
    row); ``extra_width`` inches are added on the right (e.g. for a colour bar). Returns (figure, axes, width of
    the panels in inches) for :func:`save_with_title`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = count if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols={ncols}; expected >= 1")
    nrows = math.ceil(count / ncols)
    h, w = grid.shape
    side = max(2.2, 0.55 * max(h, w))
    fig = Figure(figsize=(side * ncols + extra_width, side * nrows + (0.5 if title else 0.0)), dpi=100,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = []
    for i in range(count):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        draw_walls(ax, grid.free, grid.scaling)
        ax.set_xticks([])
        ax.set_yticks([])
        axes.append(ax)
    return fig, axes, side * ncols


def save_with_title(fig: Any, out_png: str | os.PathLike, title: str | None, width_inches: float) -> Path:
    """Add ``title`` wrapped to the figure's width (about 12 characters per inch at 9 pt), save, return the path."""
    if title:
        fig.suptitle(textwrap.fill(title, width=max(24, int(12 * width_inches))), fontsize=9)
    out = Path(out_png).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
