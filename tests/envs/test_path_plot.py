"""plot_paths draws reached episodes green and missed ones red, one panel per title, over the maze's walls."""

import numpy as np
import pytest
from matplotlib import colors
from matplotlib.image import imread

from rlkit.envs.maze_planning import MazeGrid
from rlkit.envs.path_plot import MISSED, REACHED, plot_paths
from rlkit.envs.path_recorder import RecordedPath

UMAZE = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]


def path(points, success):
    return RecordedPath([np.asarray(p, dtype=np.float64) for p in points], success)


def reddish_and_greenish(image):
    """Pixels where red, or green, clearly dominates the other two channels (paths are drawn semi-transparent)."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return int(((r > g + 0.2) & (r > b + 0.2)).sum()), int(((g > r + 0.1) & (g > b + 0.1)).sum())


def test_reached_green_missed_red(tmp_path):
    grid = MazeGrid.from_map(UMAZE)
    around_the_u = [(-1, 1), (1, 1), (1, -1), (-1, -1)]
    only_red = plot_paths({"a": [path(around_the_u, False)]}, grid, tmp_path / "red.png")
    both = plot_paths({"a": [path(around_the_u, False)], "b": [path(around_the_u, True)]}, grid,
                      tmp_path / "both.png", goals={"b": (-1, -1)}, success_radius=0.5, title="t")
    red, mixed = imread(only_red), imread(both)
    assert mixed.shape[1] > red.shape[1]  # two panels side by side
    assert colors.to_rgb(MISSED)[0] > 0.8 and colors.to_rgb(REACHED)[1] > 0.5
    red_only, green_none = reddish_and_greenish(red)
    red_both, green_both = reddish_and_greenish(mixed)
    assert red_only > 50 and green_none == 0
    assert red_both > 50 and green_both > 50


def test_no_panels_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plot_paths({}, MazeGrid.from_map(UMAZE), tmp_path / "x.png")
