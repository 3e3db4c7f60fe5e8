"""A picture to check an antmaze dataset by eye: every episode's xy path over the maze, goals marked.

    python -m rlkit.data.generators.antmaze_plot antmaze-umaze-v2 umaze.png     # a name in rlkit's cache, or a path

Drawn on a bare matplotlib ``Figure`` (Agg), so it needs no display and leaves pyplot alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tensordict import TensorDict

from rlkit.data import keys as K

MAZE_ENV_IDS = {"umaze": "AntMaze_UMaze-v5", "medium": "AntMaze_Medium-v5", "large": "AntMaze_Large-v5"}


def _maze_free(env_id: str) -> tuple[np.ndarray, float]:
    from rlkit.data.generators.antmaze import make_ant_maze
    from rlkit.envs.maze_planning import free_mask

    env = make_ant_maze(env_id)
    try:
        maze = env.unwrapped.maze
        return free_mask(maze.maze_map), float(maze.maze_size_scaling)
    finally:
        env.close()


def _load(path_or_td: str | os.PathLike | TensorDict) -> tuple[TensorDict, dict, str]:
    if isinstance(path_or_td, TensorDict):
        return path_or_td, {}, "<tensordict>"
    from rlkit.data.d4rl_io import load_d4rl, load_d4rl_metadata
    from rlkit.data.paths import default_dataset_path

    path = Path(path_or_td).expanduser()
    if not path.exists() and not path.suffix:
        path = default_dataset_path(str(path_or_td))
    return load_d4rl(path), load_d4rl_metadata(path), str(path)


def _env_id(metadata: dict, maze: str | None, source: str) -> str:
    if maze is not None:
        if maze not in MAZE_ENV_IDS:
            raise ValueError(f"maze {maze!r}; expected one of {sorted(MAZE_ENV_IDS)}")
        return MAZE_ENV_IDS[maze]
    env_id = metadata.get("settings", {}).get("env_id")
    if env_id is None:
        raise ValueError(
            f"{source}: no metadata/settings/env_id to find the maze from; pass maze='umaze'|'medium'|'large'"
        )
    return env_id.decode() if isinstance(env_id, bytes) else str(env_id)


def plot_antmaze_dataset(
    path_or_td: str | os.PathLike | TensorDict,
    out_png: str | os.PathLike,
    *,
    maze: str | None = None,
    max_episodes: int | None = 200,
) -> Path:
    """Write a PNG of the dataset's episodes (xy paths) over the maze's walls; return its path.

    ``path_or_td``: an hdf5 file, a dataset name in rlkit's cache, or a TensorDict in rlkit's layout (then pass
    ``maze``). Episodes are the 1000-step segments between timeouts; ``max_episodes`` caps how many are drawn.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from rlkit.envs.path_plot import draw_walls

    td, metadata, source = _load(path_or_td)
    obs = td.get(K.OBS)
    if obs.ndim != 2 or obs.shape[1] < 2:
        raise ValueError(f"{source}: observations have shape {tuple(obs.shape)}; expected (N, >=2) with xy first")
    free, scaling = _maze_free(_env_id(metadata, maze, source))
    xy = obs[:, :2].double().numpy()
    ends = td.get(K.TRUNCATED).reshape(-1).numpy()
    starts = np.concatenate([[0], np.flatnonzero(ends[:-1]) + 1])
    stops = np.concatenate([starts[1:], [len(xy)]])
    if max_episodes is not None:
        starts, stops = starts[:max_episodes], stops[:max_episodes]

    h, w = free.shape
    fig = Figure(figsize=(max(4.0, w * 0.8), max(3.0, h * 0.8)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    draw_walls(ax, free, scaling)
    colors = colormaps["viridis"](np.linspace(0, 1, max(len(starts), 1)))
    for i, (a, b) in enumerate(zip(starts, stops)):
        ax.plot(xy[a:b, 0], xy[a:b, 1], color=colors[i], linewidth=0.6, alpha=0.8)
        ax.plot(xy[a, 0], xy[a, 1], "o", color=colors[i], markersize=2)
    if ("infos", "goal") in td.keys(include_nested=True):
        goals = np.unique(td.get(("infos", "goal"))[: stops[-1]].double().numpy().round(4), axis=0)
        ax.plot(goals[:, 0], goals[:, 1], "x", color="red", markersize=4, label="goals")
    eval_goal = metadata.get("settings", {}).get("eval_goal_xy")
    if eval_goal is not None:
        gx, gy = np.asarray(eval_goal)[:2]
        ax.plot(gx, gy, "*", color="gold", markeredgecolor="black", markersize=14, label="eval goal")
    ax.set_title(f"{metadata.get('name', Path(source).stem)}: {len(starts)} episodes")
    ax.legend(loc="upper right", fontsize=7)
    out = Path(out_png).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Plot an antmaze dataset's trajectories over its maze (PNG).")
    parser.add_argument("dataset", help="hdf5 path or dataset name in rlkit's cache")
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--maze", choices=sorted(MAZE_ENV_IDS), default=None, help="maze if the file has no metadata")
    parser.add_argument("--max-episodes", type=int, default=200)
    args = parser.parse_args(argv)
    print(plot_antmaze_dataset(args.dataset, args.out, maze=args.maze, max_episodes=args.max_episodes))


if __name__ == "__main__":
    main()
