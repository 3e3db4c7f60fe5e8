"""plot_cell_values fills each point's cell with its value's colour; bad points are named in the error."""

import pytest
from matplotlib.image import imread

from rlkit.envs.cell_plot import cells_of_points, plot_cell_values
from rlkit.envs.maze_planning import MazeGrid

UMAZE = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]


def red_and_green(image):
    """Pixels of RdYlGn's saturated ends: red (value 0) and green (value 1)."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return int(((r > 0.55) & (g < 0.1) & (b < 0.25)).sum()), int(((g > 0.35) & (r < 0.1) & (b < 0.3)).sum())


def test_points_map_to_their_cells():
    grid = MazeGrid.from_map(UMAZE)
    # world (x, y) -> (row, col): x = col - 2.5 + 0.5 ... the umaze's top-left free cell (1, 1) is at (-1, 1)
    assert cells_of_points({(-1, 1): 0.5, (1.2, -0.9): 1.0}, grid) == {(1, 1): 0.5, (3, 3): 1.0}


def test_colours_follow_values(tmp_path):
    grid = MazeGrid.from_map(UMAZE)
    low = imread(plot_cell_values({"a": {(-1, 1): 0.0}}, grid, tmp_path / "low.png"))
    high = imread(plot_cell_values({"a": {(-1, 1): 1.0}}, grid, tmp_path / "high.png"))
    two = imread(plot_cell_values({"a": {(-1, 1): 0.0}, "b": {(1, 0): 1.0}}, grid, tmp_path / "two.png",
                                  label="success", title="t"))
    # the colour bar holds both ends in every figure, so compare against it: the filled cell adds ~a cell's pixels
    (red_low, green_low), (red_high, green_high) = red_and_green(low), red_and_green(high)
    assert red_low > red_high + 1000 and green_high > green_low + 1000
    assert two.shape[1] > low.shape[1]


@pytest.mark.parametrize("points, message", [
    ({(0, 0): 1.0}, "wall cell"),  # the umaze's middle is a wall
    ({(-1, 1): 1.0, (-0.8, 1.2): 0.0}, "share cell"),
    ({(1, 2, 3): 1.0}, "not an"),
])
def test_bad_points_are_named(tmp_path, points, message):
    with pytest.raises(ValueError, match=message):
        plot_cell_values({"p": points}, MazeGrid.from_map(UMAZE), tmp_path / "x.png")


def test_empty_or_bad_range_is_an_error(tmp_path):
    grid = MazeGrid.from_map(UMAZE)
    with pytest.raises(ValueError, match="empty"):
        plot_cell_values({}, grid, tmp_path / "x.png")
    with pytest.raises(ValueError, match="vmax > vmin"):
        plot_cell_values({"a": {(-1, 1): 0.0}}, grid, tmp_path / "x.png", vmin=1.0, vmax=1.0)
