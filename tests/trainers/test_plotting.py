"""Plots: PNG of the expected pixel size from a metrics.csv, and mean ± std across seeds."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rlkit.trainers.logger import Logger
from rlkit.trainers.plotting import aggregate_seeds, plot_learning_curves, plot_seeds, smooth_curve


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _write_run(run_dir, offset: float) -> None:
    with Logger(run_dir) as logger:
        for step in range(10):
            logger.log({"loss": 1.0 / (step + 1) + offset}, step=step)
            if step % 3 == 0:
                logger.log({"return": step * 10.0 + offset}, step=step)  # a sparser metric: gaps in its column


def test_learning_curves_png(tmp_path):
    _write_run(tmp_path / "run", 0.0)
    out = plot_learning_curves(tmp_path / "run" / "metrics.csv", ["loss", "return"], tmp_path / "fig" / "curves.png",
                               smooth=3, panel_size=(4.0, 3.0), dpi=50)
    assert out.stat().st_size > 1000
    assert png_size(out) == (2 * 4 * 50, 3 * 50)  # two panels side by side
    grid = plot_learning_curves({"step": [0, 1, 2, 3], "a": [1, 2, 3, 4], "b": [4, 3, 2, 1], "c": [0, 0, 1, 1],
                                 "d": [1, 1, 1, 1]}, ["a", "b", "c", "d"], tmp_path / "grid.png", ncols=3, dpi=20)
    assert png_size(grid) == (3 * 4 * 20, 2 * 3 * 20)  # 3 columns, 2 rows


def test_missing_metric_is_named(tmp_path):
    _write_run(tmp_path / "run", 0.0)
    with pytest.raises(KeyError, match="no column 'reward'"):
        plot_learning_curves(tmp_path / "run" / "metrics.csv", ["reward"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_smooth_curve_is_a_trailing_mean():
    assert smooth_curve(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist() == [1.0, 1.5, 2.5, 3.5]
    assert smooth_curve(np.array([3.0, 1.0, 2.0]), 1).tolist() == [3.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="smooth must be >= 1"):
        smooth_curve(np.ones(3), 0)


def test_aggregate_seeds_mean_std_and_interpolation():
    a = {"step": [0, 1, 2], "r": [0.0, 2.0, 4.0]}
    b = {"step": [0, 1, 2], "r": [2.0, 2.0, 2.0]}
    x, mean, std = aggregate_seeds([a, b], "r")
    assert x.tolist() == [0, 1, 2] and mean.tolist() == [1.0, 2.0, 3.0] and std.tolist() == [1.0, 0.0, 1.0]
    sparse = {"step": [0, 2, 4], "r": [0.0, 4.0, 8.0]}  # interpolated at step 1 -> 2.0; step 4 is outside b's range
    x, mean, _ = aggregate_seeds([sparse, b], "r")
    assert x.tolist() == [0, 1, 2] and mean.tolist() == [1.0, 2.0, 3.0]


def test_plot_seeds_png(tmp_path):
    for seed in range(3):
        _write_run(tmp_path / f"a{seed}", seed * 0.1)
        _write_run(tmp_path / f"b{seed}", 1 + seed * 0.1)
    groups = {"A": [tmp_path / f"a{s}" / "metrics.csv" for s in range(3)],
              "B": [tmp_path / f"b{s}" / "metrics.csv" for s in range(3)]}
    out = plot_seeds(groups, ["loss", "return"], tmp_path / "seeds.png", dpi=40)
    assert png_size(out) == (2 * 4 * 40, 3 * 40) and out.stat().st_size > 1000
