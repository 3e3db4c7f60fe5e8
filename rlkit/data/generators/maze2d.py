"""maze2d-{umaze,medium,large}[-dense]-v1: a point mass driven through gymnasium-robotics' PointMaze, as D4RL did.

D4RL's recipe (``scripts/generation/generate_maze2d_datasets.py``): one long continuing rollout; a goal cell is drawn
at random, a waypoint controller steers to it along the shortest path, and once it is reached a new random goal is
drawn while the point keeps moving. Actions get N(0, 0.5) noise and are clipped to [-1, 1]. Rewards are those of the
evaluation task (reach the maze's fixed goal cell), not of the random goals; the file has no next_observations and
marks a timeout every ``max_episode_steps`` rows. Differences from D4RL are listed in ``docs/datasets.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tensordict import TensorDict

from rlkit.data.generators.maze_controller import MazeWaypointController
from rlkit.data.generators.rollout import RolloutArrays, env_seed, progress_chunks, spawn_generators
from rlkit.data.registry import register_dataset
from rlkit.envs.maze_planning import MazeGrid

ACTION_NOISE_STD = 0.5  # D4RL's --noisy setting (Minari's re-creation of these datasets uses it too)
GOAL_NOISE = 0.1  # a random goal is its cell centre + U(-0.1, 0.1) per coordinate (D4RL's set_target)
SPARSE_RADIUS = 0.5  # D4RL: reward 1 when within 0.5 of the evaluation goal


@dataclass(frozen=True)
class MazeSpec:
    env_id: str
    max_episode_steps: int  # D4RL's time limit for the maze, and the period of the timeouts
    eval_goal_cell: tuple[int, int]  # the "G" cell of D4RL's maze string, (row, col)
    default_steps: int


MAZES = {
    "umaze": MazeSpec("PointMaze_UMaze-v3", 300, (1, 1), 1_000_000),
    "medium": MazeSpec("PointMaze_Medium-v3", 600, (6, 6), 2_000_000),
    "large": MazeSpec("PointMaze_Large-v3", 800, (7, 9), 4_000_000),
}


def make_point_maze(env_id: str):
    """The gymnasium-robotics PointMaze env, continuing (the goal is ours to manage, so the env never moves it)."""
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return gym.make(env_id, continuing_task=True, reset_target=False)


def maze_rewards(next_xy: np.ndarray, goal_xy: np.ndarray, reward_type: str) -> np.ndarray:
    """D4RL's maze2d rewards for reaching ``goal_xy`` from positions ``next_xy`` (N, 2): sparse or dense."""
    distance = np.hypot(next_xy[:, 0] - goal_xy[0], next_xy[:, 1] - goal_xy[1])
    if reward_type == "sparse":
        return (distance <= SPARSE_RADIUS).astype(np.float32)
    if reward_type == "dense":
        return np.exp(-distance).astype(np.float32)
    raise ValueError(f"reward_type {reward_type!r}; expected 'sparse' or 'dense'")


def generate_maze2d(
    maze: str, steps: int, seed: int, *, reward_type: str = "sparse", progress: bool = True
) -> tuple[TensorDict, dict]:
    """Roll the waypoint controller out for ``steps`` steps in maze ``maze`` ("umaze", "medium", "large")."""
    if maze not in MAZES:
        raise ValueError(f"unknown maze {maze!r}; expected one of {sorted(MAZES)}")
    spec = MAZES[maze]
    maze_rewards(np.zeros((1, 2)), np.zeros(2), reward_type)  # reject a bad reward_type before the long rollout
    env_rng, goal_rng, jitter_rng, noise_rng = spawn_generators(seed, 4)
    env = make_point_maze(spec.env_id)
    point = env.unwrapped.point_env  # PointMazeEnv.step adds only goal bookkeeping that this loop does itself
    grid = MazeGrid.from_maze(env.unwrapped.maze)
    controller = MazeWaypointController(grid, seed=jitter_rng)
    eval_goal = grid.cell_center(np.array(spec.eval_goal_cell))

    def random_goal() -> np.ndarray:
        cell = grid.free_cells[goal_rng.integers(len(grid.free_cells))]
        return grid.cell_center(cell) + goal_rng.uniform(-GOAL_NOISE, GOAL_NOISE, size=2) * grid.scaling

    arrays = RolloutArrays(
        steps,
        {
            "observations": ((4,), np.float32),
            "actions": ((2,), np.float32),
            "infos/goal": ((2,), np.float32),
        },
        extra_rows={"observations": 1},
    )
    obs_out, act_out, goal_out = arrays["observations"], arrays["actions"], arrays["infos/goal"]
    obs = env.reset(seed=env_seed(env_rng))[0]["observation"]
    goal, since_goal = random_goal(), 0
    for start, stop in progress_chunks(steps, desc=f"maze2d-{maze}", progress=progress):
        noise = noise_rng.standard_normal((stop - start, 2)) * ACTION_NOISE_STD
        for t in range(start, stop):
            if since_goal >= spec.max_episode_steps or controller.goal_reached(obs, goal):
                goal, since_goal = random_goal(), 0
            action = np.minimum(np.maximum(controller.act(obs, goal) + noise[t - start], -1.0), 1.0)
            obs_out[t] = obs
            act_out[t] = action
            goal_out[t] = goal
            obs = point.step(action)[0]
            since_goal += 1
    obs_out[steps] = obs
    env.close()

    arrays["rewards"] = maze_rewards(obs_out[1:, :2].astype(np.float64), eval_goal, reward_type)
    arrays["terminals"] = np.zeros(steps, dtype=bool)
    arrays["timeouts"] = (np.arange(1, steps + 1) % spec.max_episode_steps) == 0
    arrays["infos/qpos"] = obs_out[:steps, :2].copy()
    arrays["infos/qvel"] = obs_out[:steps, 2:].copy()
    td = arrays.transitions(source=f"maze2d-{maze} generator")
    metadata = {
        "algorithm": "waypoint controller (BFS over maze cells + PD), D4RL maze2d recipe",
        "env_id": spec.env_id,
        "layout": "maze",
        "frame": "gymnasium-robotics (x right, y up, maze centred on the origin)",
        "max_episode_steps": spec.max_episode_steps,
        "reward_type": reward_type,
        "eval_goal_cell": list(spec.eval_goal_cell),
        "eval_goal_xy": eval_goal.tolist(),
        "action_noise_std": ACTION_NOISE_STD,
        "p_gain": controller.p_gain,
        "d_gain": controller.d_gain,
    }
    return td, metadata


def _register(maze: str, reward_type: str) -> None:
    spec = MAZES[maze]
    suffix = "-dense" if reward_type == "dense" else ""
    name = f"maze2d-{maze}{suffix}-v1"

    def build(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
        return generate_maze2d(maze, steps, seed, reward_type=reward_type, progress=progress)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    register_dataset(
        name,
        default_steps=spec.default_steps,
        description=f"point mass, waypoint controller with random goals in {spec.env_id}, {reward_type} reward",
    )(build)


for _maze in MAZES:
    for _reward_type in ("sparse", "dense"):
        _register(_maze, _reward_type)
