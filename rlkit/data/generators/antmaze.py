"""antmaze-{umaze,umaze-diverse,medium-play,medium-diverse,large-play,large-diverse}-v2 in D4RL's antmaze layout.

D4RL collected these with a learned goal-reaching ant following waypoints of a maze planner; here the walker is the
tuned trotting gait (``rlkit.agents.ant_gait``) steered by ``rlkit.agents.ant_maze_navigator`` in gymnasium-robotics'
AntMaze. Recipe, per 1000-step episode:

- reset the ant at a start cell; pick a goal (a goal cell's centre plus U(-1, 1) m per coordinate, gymnasium's
  noise); when the ant gets within 0.5 m of it, pick a new one and keep walking (a continuing task);
- ``umaze``: start at the ``R`` cell, goals alternate between the evaluation goal ``G`` and ``R``;
  ``play``: starts and goals from a hand-picked list of cells per maze; ``diverse``: any free cell;
- each episode draws its gait slightly perturbed (x(1 + U(-0.05, 0.05))), its action-noise std from U(0.05, 0.1),
  and its oscillator phase; actions are ``clip(gait + N(0, std), -1, 1)``;
- an episode ends after 1000 steps (``timeouts``) or as soon as the ant lies on its back (also ``timeouts``: the
  episode is truncated, not terminated; the env is then reset).

Rewards are D4RL's: 1 when s_{t+1} is within 0.5 m of the maze's evaluation goal (the ``G`` cell of D4RL's test maze),
with ``terminals`` equal to the rewards, as in D4RL's v2 files. Every difference from D4RL is in ``docs/datasets.md``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from tensordict import TensorDict

from rlkit.agents.ant_gait import GaitParams, TrotGait
from rlkit.agents.ant_maze_navigator import AntMazeNavigator
from rlkit.data.generators.gait_search import TUNED_GAIT, TUNED_GAIT_SEARCH
from rlkit.data.generators.parallel import Report, generate_sharded, shard_rng
from rlkit.data.generators.rollout import env_seed
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.registry import register_dataset
from rlkit.envs.ant_state import ANT_NQ, ANT_NV, actuator_joint_indices, ant_mujoco_env, is_flipped
from rlkit.envs.maze_planning import MazeGrid

EPISODE_STEPS = 1000  # D4RL antmaze: a timeout every 1000 steps
SUCCESS_RADIUS = 0.5  # D4RL: reward within 0.5 of the evaluation goal; also "goal reached" for collection goals
GOAL_NOISE = 0.25  # goals: cell centre + U(-0.25, 0.25) * cell size per coordinate (gymnasium's position noise)
GAIT_JITTER = 0.05
ACTION_NOISE_RANGE = (0.05, 0.1)
STEPS_PER_SHARD = 50_000  # the dataset is cut into shards of at least this many steps (whole episodes)
OBS_DIM = ANT_NQ + ANT_NV  # 29


@dataclass(frozen=True)
class AntMazeSpec:
    env_id: str
    start_cell: tuple[int, int]  # D4RL's R cell, (row, col)
    eval_goal_cell: tuple[int, int]  # the G cell of D4RL's *_TEST maze
    play_cells: tuple[tuple[int, int], ...]  # hand-picked goal cells (D4RL's play mazes; gymnasium's *_DIVERSE_G)


MAZES = {
    "umaze": AntMazeSpec("AntMaze_UMaze-v5", (1, 1), (3, 1), ((3, 1), (1, 1))),
    "medium": AntMazeSpec("AntMaze_Medium-v5", (1, 1), (6, 6), ((2, 6), (5, 1), (6, 5))),
    "large": AntMazeSpec(
        "AntMaze_Large-v5", (1, 1), (7, 9), ((1, 6), (3, 5), (3, 10), (5, 2), (7, 4), (7, 6), (7, 9))
    ),
}

# name -> (maze, goal mode)
DATASETS = {
    "antmaze-umaze-v2": ("umaze", "fixed"),
    "antmaze-umaze-diverse-v2": ("umaze", "diverse"),
    "antmaze-medium-play-v2": ("medium", "play"),
    "antmaze-medium-diverse-v2": ("medium", "diverse"),
    "antmaze-large-play-v2": ("large", "play"),
    "antmaze-large-diverse-v2": ("large", "diverse"),
}


def make_ant_maze(env_id: str):
    """A gymnasium-robotics AntMaze env; the generator steps its ant directly and keeps the goals itself."""
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return gym.make(env_id, continuing_task=True, reset_target=False)


def start_and_goal_cells(spec: AntMazeSpec, mode: str, grid: MazeGrid) -> tuple[np.ndarray, np.ndarray]:
    """(start cells (S, 2), goal cells (G, 2)) for a goal mode: "fixed", "play" or "diverse"."""
    if mode == "fixed":
        return np.array([spec.start_cell]), np.array([spec.eval_goal_cell, spec.start_cell])
    if mode == "play":
        starts = np.array([spec.start_cell, *[c for c in spec.play_cells if c != spec.start_cell]])
        return starts, np.array(spec.play_cells)
    if mode == "diverse":
        return grid.free_cells, grid.free_cells
    raise ValueError(f"goal mode {mode!r}; expected 'fixed', 'play' or 'diverse'")


def _check_cells(cells: np.ndarray, grid: MazeGrid, what: str) -> None:
    for cell in cells:
        r, c = int(cell[0]), int(cell[1])
        if not (0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]) or not grid.free[r, c]:
            raise ValueError(f"{what} cell {(r, c)} is not a free cell of the {grid.shape} maze")


def sparse_rewards(next_xy: np.ndarray, goal_xy: np.ndarray) -> np.ndarray:
    """D4RL antmaze rewards: 1.0 where ``next_xy`` (N, 2) is within ``SUCCESS_RADIUS`` of ``goal_xy`` (2,)."""
    gap = next_xy - goal_xy
    return (np.hypot(gap[:, 0], gap[:, 1]) <= SUCCESS_RADIUS).astype(np.float32)


def _pick_goal(rng: np.random.Generator, cells: np.ndarray, here: int, grid: MazeGrid) -> np.ndarray:
    """A goal point in a random cell of ``cells`` other than the ant's cell ``here`` (flat index)."""
    options = cells[grid.flat(cells) != here]
    if len(options) == 0:
        options = cells
    cell = options[rng.integers(len(options))]
    return grid.cell_center(cell) + rng.uniform(-GOAL_NOISE, GOAL_NOISE, size=2) * grid.scaling


def generate_shard(
    shard_index: int, seed: int, report: Report, *, name: str, shard_steps: int, gait: GaitParams
) -> dict:
    """Whole episodes until at least ``shard_steps`` rows: D4RL-named arrays plus per-episode statistics."""
    maze, mode = DATASETS[name]
    spec = MAZES[maze]
    rng = shard_rng(seed, shard_index)
    env = make_ant_maze(spec.env_id)
    ant = ant_mujoco_env(env)
    grid = MazeGrid.from_maze(env.unwrapped.maze)
    starts, goal_cells = start_and_goal_cells(spec, mode, grid)
    _check_cells(np.concatenate([starts, goal_cells]), grid, f"{name}: start/goal")
    qpos_index, _ = actuator_joint_indices(ant.model)
    navigator = AntMazeNavigator(grid, TrotGait(gait, dt=ant.dt, actuator_joints=qpos_index - 7))
    qpos, qvel = ant.data.qpos, ant.data.qvel

    capacity = shard_steps + EPISODE_STEPS
    obs = np.zeros((capacity, OBS_DIM), dtype=np.float64)
    actions = np.zeros((capacity, 8), dtype=np.float32)
    goals = np.zeros((capacity, 2), dtype=np.float32)
    next_xy = np.zeros((capacity, 2), dtype=np.float64)
    timeouts = np.zeros(capacity, dtype=bool)
    goals_reached: list[int] = []
    flipped: list[bool] = []
    row = 0
    while row < shard_steps:
        start = starts[rng.integers(len(starts))]
        first_goal = _pick_goal(rng, goal_cells, int(grid.flat(start)), grid)
        env.reset(seed=env_seed(rng), options={"reset_cell": start, "goal_cell": grid.cell_of(first_goal)})
        goal = first_goal
        navigator.gait.reset(phase=rng.uniform(0.0, 2.0 * np.pi), params=gait.randomized(rng, GAIT_JITTER))
        noise = rng.standard_normal((EPISODE_STEPS, 8)) * rng.uniform(*ACTION_NOISE_RANGE)
        reached, flip = 0, False
        first = row
        for t in range(EPISODE_STEPS):
            xy = qpos[:2]
            if math.hypot(xy[0] - goal[0], xy[1] - goal[1]) <= SUCCESS_RADIUS:
                reached += 1
                goal = _pick_goal(rng, goal_cells, int(grid.cell_index(xy)), grid)
            action = navigator.act(qpos, qvel, goal) + noise[t]
            np.clip(action, -1.0, 1.0, out=action)
            obs[row, :ANT_NQ] = qpos[:ANT_NQ]
            obs[row, ANT_NQ:] = qvel[:ANT_NV]
            actions[row] = action
            goals[row] = goal
            ant.do_simulation(action, ant.frame_skip)
            next_xy[row] = qpos[:2]
            row += 1
            if is_flipped(qpos[3:7]):
                flip = True
                break
        timeouts[row - 1] = True
        goals_reached.append(reached)
        flipped.append(flip)
        report(row - first)
    env.close()
    cells = grid.cell_index(obs[:row, :2])
    return {
        "observations": obs[:row].astype(np.float32),
        "actions": actions[:row],
        "infos/goal": goals[:row],
        "next_xy": next_xy[:row],
        "timeouts": timeouts[:row],
        "goals_reached": np.array(goals_reached, dtype=np.int64),
        "flipped": np.array(flipped, dtype=bool),
        "cell_visits": np.bincount(cells, minlength=grid.free.size),
        "maze_free": grid.free,
        "maze_scaling": grid.scaling,
    }


def _concatenate(shards: list[dict], steps: int) -> dict:
    """Shards joined in order and cut to exactly ``steps`` rows (the cut row marked as a timeout)."""
    rows = sum(len(s["observations"]) for s in shards)
    if rows < steps:
        raise RuntimeError(f"the shards made {rows} rows; {steps} were needed (a shard stopped short)")
    keys = ("observations", "actions", "infos/goal", "next_xy", "timeouts")
    out = {key: np.concatenate([s[key] for s in shards])[:steps] for key in keys}
    out["timeouts"][steps - 1] = True
    return out


def generate_antmaze(
    name: str,
    steps: int,
    seed: int,
    *,
    progress: bool = True,
    workers: int | None = None,
    gait: GaitParams = TUNED_GAIT,
) -> tuple[TensorDict, dict]:
    """Generate antmaze dataset ``name`` (a key of ``DATASETS``) with exactly ``steps`` transitions.

    The result depends only on (name, steps, seed, gait), not on ``workers`` (processes; None = one per core).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown antmaze dataset {name!r}; expected one of {sorted(DATASETS)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps}")
    maze, mode = DATASETS[name]
    spec = MAZES[maze]
    num_shards = max(1, math.ceil(steps / STEPS_PER_SHARD))
    shard_steps = math.ceil(steps / num_shards)
    shard_fn = functools.partial(generate_shard, name=name, shard_steps=shard_steps, gait=gait)
    shards = generate_sharded(
        shard_fn, num_shards, seed, workers=workers, progress=progress, desc=name, total_steps=steps
    )
    arrays = _concatenate(shards, steps)

    grid = MazeGrid(shards[0]["maze_free"], float(shards[0]["maze_scaling"]))
    eval_goal = grid.cell_center(np.array(spec.eval_goal_cell))
    rewards = sparse_rewards(arrays["next_xy"], eval_goal)
    obs = arrays["observations"]
    td = transitions_from_arrays(
        obs,
        arrays["actions"],
        rewards,
        rewards > 0,
        arrays["timeouts"],
        infos={"goal": arrays["infos/goal"], "qpos": obs[:, :ANT_NQ], "qvel": obs[:, ANT_NQ:]},
        source=f"{name} generator",
    )
    stats = dataset_statistics(shards, grid)
    starts, goal_cells = start_and_goal_cells(spec, mode, grid)
    metadata = {
        "algorithm": "trotting gait (CEM-tuned) + BFS waypoints over maze cells, D4RL antmaze recipe",
        "env_id": spec.env_id,
        "layout": "maze",
        "frame": "gymnasium-robotics (x right, y up, maze centred on the origin, 4 m cells)",
        "observation": "qpos (15) + qvel (14) of the ant, as D4RL's 29-d antmaze observation",
        "episode_steps": EPISODE_STEPS,
        "goal_mode": mode,
        "start_cells": starts.tolist(),
        "goal_cells": goal_cells.tolist(),
        "eval_goal_cell": list(spec.eval_goal_cell),
        "eval_goal_xy": eval_goal.tolist(),
        "success_radius": SUCCESS_RADIUS,
        "goal_noise_m": GOAL_NOISE * grid.scaling,
        "action_noise_std_range": list(ACTION_NOISE_RANGE),
        "gait_jitter": GAIT_JITTER,
        "gait": gait.to_dict(),
        "gait_search": dict(TUNED_GAIT_SEARCH),
        "flip_handling": "episode cut at the first step with the torso's up axis below the horizon; marked timeout",
        "num_shards": num_shards,
        "stats": stats,
    }
    return td, metadata


def dataset_statistics(shards: list[dict], grid: MazeGrid) -> dict:
    """Goals reached per episode, flip rate and the fraction of free cells visited, over all generated episodes."""
    reached = np.concatenate([s["goals_reached"] for s in shards])
    flipped = np.concatenate([s["flipped"] for s in shards])
    visits = np.sum([s["cell_visits"] for s in shards], axis=0)
    free = grid.free.reshape(-1)
    return {
        "episodes": int(reached.size),
        "goals_per_episode": float(reached.mean()),
        "episodes_without_goal": float((reached == 0).mean()),
        "flip_rate": float(flipped.mean()),
        "cell_coverage": float((visits[free] > 0).mean()),
    }


def _register(name: str) -> None:
    maze, mode = DATASETS[name]

    def build(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
        return generate_antmaze(name, steps, seed, progress=progress)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    what = {"fixed": "goals alternating between the evaluation goal and the start", "play": "hand-picked goal cells",
            "diverse": "random goal cells"}[mode]
    register_dataset(
        name,
        default_steps=1_000_000,
        description=f"ant trotting gait + maze waypoints in {MAZES[maze].env_id}, {what}",
    )(build)


for _name in DATASETS:
    _register(_name)
