"""Learning-curve figures from ``metrics.csv`` files: one panel per metric, and mean ± std across seeds.

Figures are drawn on a bare ``matplotlib.figure.Figure`` (the Agg canvas), never through pyplot, so nothing
needs a display and the caller's pyplot backend and state are left alone. A PNG is exactly
``panel_size * grid * dpi`` pixels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rlkit.trainers.logger import read_metrics

Source = str | os.PathLike | Mapping[str, Any]


def _columns(source: Source) -> dict[str, np.ndarray]:
    if isinstance(source, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64).reshape(-1) for k, v in source.items()}
    return read_metrics(source)


def _series(columns: dict[str, np.ndarray], key: str, x: str, smooth: int, where: str) -> tuple[np.ndarray, ...]:
    for name in (x, key):
        if name not in columns:
            raise KeyError(f"{where} has no column {name!r}; it has {sorted(columns)}")
    xs, ys = columns[x], columns[key]
    if xs.shape != ys.shape:
        raise ValueError(f"{where}: column {x!r} has {xs.size} values but {key!r} has {ys.size}")
    keep = np.isfinite(xs) & np.isfinite(ys)  # rows logged without this metric are NaN
    return xs[keep], smooth_curve(ys[keep], smooth)


def smooth_curve(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (fewer at the start), so point i uses only points <= i."""
    if window < 1:
        raise ValueError(f"smooth must be >= 1 (1 = no smoothing), got {window}")
    values = np.asarray(values, dtype=np.float64)
    if window == 1 or values.size == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    index = np.arange(1, values.size + 1)
    start = np.maximum(index - window, 0)
    return (sums[index] - sums[start]) / (index - start)


def _figure(num_panels: int, ncols: int, panel_size: tuple[float, float]) -> tuple[Figure, list[Any]]:
    cols = min(ncols, num_panels)
    rows = math.ceil(num_panels / cols)
    fig = Figure(figsize=(panel_size[0] * cols, panel_size[1] * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax in axes[num_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:num_panels])


def _save(fig: Figure, out_png: str | os.PathLike, dpi: int) -> Path:
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out


def plot_learning_curves(
    source: Source,
    keys: Sequence[str],
    out_png: str | os.PathLike,
    *,
    x: str = "step",
    smooth: int = 1,
    title: str | None = None,
    ncols: int = 3,
    panel_size: tuple[float, float] = (4.0, 3.0),
    dpi: int = 100,
) -> Path:
    """Plot each of ``keys`` against ``x`` from a ``metrics.csv`` (or a dict of columns); save a PNG; return its path.

    smooth: trailing moving-average window in points (1 = raw). Rows where a metric is empty are skipped.
    """
    if not keys:
        raise ValueError("keys is empty; name at least one metric to plot")
    columns = _columns(source)
    fig, axes = _figure(len(keys), ncols, panel_size)
    for ax, key in zip(axes, keys):
        xs, ys = _series(columns, key, x, smooth, str(source) if not isinstance(source, Mapping) else "data")
        ax.plot(xs, ys)
        ax.set(title=key, xlabel=x)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, out_png, dpi)


def aggregate_seeds(
    sources: Sequence[Source], key: str, *, x: str = "step", smooth: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and (population) std of ``key`` across runs, on the union of their ``x`` values inside the range that
    every run covers (runs logged at other steps are linearly interpolated). Returns ``(x, mean, std)``."""
    if not sources:
        raise ValueError("sources is empty; pass one metrics.csv (or dict of columns) per seed")
    curves = [_series(_columns(s), key, x, smooth, str(s) if not isinstance(s, Mapping) else "data") for s in sources]
    if any(xs.size == 0 for xs, _ in curves):
        raise ValueError(f"a run has no finite values of {key!r}")
    low, high = max(xs.min() for xs, _ in curves), min(xs.max() for xs, _ in curves)
    if low > high:
        raise ValueError(f"the runs' {x!r} ranges do not overlap for {key!r}")
    grid = np.unique(np.concatenate([xs for xs, _ in curves]))
    grid = grid[(grid >= low) & (grid <= high)]
    stacked = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def plot_seeds(
    runs: Sequence[Source] | Mapping[str, Sequence[Source]],
    keys: Sequence[str],
    out_png: str | os.PathLike,
    *,
    x: str = "step",
    smooth: int = 1,
    title: str | None = None,
    ncols: int = 3,
    panel_size: tuple[float, float] = (4.0, 3.0),
    dpi: int = 100,
) -> Path:
    """Plot mean ± std across seeds per metric; ``runs`` is a list of CSVs, or ``{label: [CSVs]}`` to compare
    several methods in the same panels."""
    if not keys:
        raise ValueError("keys is empty; name at least one metric to plot")
    groups = dict(runs) if isinstance(runs, Mapping) else {"mean ± std": list(runs)}
    fig, axes = _figure(len(keys), ncols, panel_size)
    for ax, key in zip(axes, keys):
        for label, sources in groups.items():
            grid, mean, std = aggregate_seeds(sources, key, x=x, smooth=smooth)
            (line,) = ax.plot(grid, mean, label=f"{label} (n={len(sources)})")
            ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.25, linewidth=0)
        ax.set(title=key, xlabel=x)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, out_png, dpi)
