"""Maze2DEnv agrees with the maze2d dataset generator: same goal, frame, dynamics, rewards and episode length."""

import numpy as np
import pytest

from rlkit.data.generators.maze2d import MAZES, generate_maze2d
from rlkit.envs.maze2d import Maze2DEnv, make_maze2d_env


@pytest.fixture(scope="module")
def dense_dataset():
    return generate_maze2d("umaze", 400, seed=0, reward_type="dense", progress=False)


def test_goal_and_rewards_at_hand_picked_points():
    env = make_maze2d_env("maze2d-umaze-v1")
    assert env.goal.tolist() == [-1.0, 1.0]  # cell (1, 1) of the 5 x 5 umaze, maze centred on the origin
    gx, gy = env.goal
    points = np.array([[gx, gy], [gx + 0.49, gy], [gx, gy - 0.51], [gx + 0.3, gy + 0.3], [0.0, 0.0]])
    assert env.reward_of(points).tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
    dense = make_maze2d_env("maze2d-umaze-dense-v1")
    assert dense.reward_of(points).tolist() == pytest.approx(np.exp(-np.hypot(points[:, 0] - gx, points[:, 1] - gy)))


def test_env_and_dataset_agree_on_goal_and_rewards(dense_dataset):
    td, meta = dense_dataset
    env = make_maze2d_env("maze2d-umaze-dense-v1")
    assert env.goal.tolist() == meta["eval_goal_xy"]
    assert env.max_episode_steps == meta["max_episode_steps"] == 300
    rows = td.get("has_next")
    rewards = env.reward_of(td.get(("next", "observation"))[rows].numpy())
    np.testing.assert_allclose(rewards, td.get(("next", "reward")).squeeze(1)[rows].numpy(), rtol=1e-5, atol=1e-6)


def test_env_dynamics_reproduce_dataset_transitions(dense_dataset):
    td, _ = dense_dataset
    env = make_maze2d_env("maze2d-umaze-dense-v1")
    env.reset(seed=0)
    for t in (0, 57, 123, 250):
        env.set_state(td.get("observation")[t].numpy())
        obs, reward, terminated, _, _ = env.step(td.get("action")[t].numpy())
        np.testing.assert_allclose(obs, td.get(("next", "observation"))[t].numpy(), atol=1e-5)
        assert reward == pytest.approx(float(td.get(("next", "reward"))[t]), abs=1e-5)
        assert not terminated


def test_episode_is_truncated_at_d4rl_length_and_never_terminates():
    env = Maze2DEnv("umaze", max_episode_steps=5)
    obs, info = env.reset(seed=1)
    assert obs.shape == (4,) and env.observation_space.shape == (4,) and env.action_space.shape == (2,)
    flags = [env.step(np.ones(2))[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]
    assert Maze2DEnv("large").max_episode_steps == MAZES["large"].max_episode_steps == 800


def test_resets_are_seeded_and_start_anywhere():
    env = Maze2DEnv("umaze")
    starts = np.array([env.reset(seed=s)[0][:2] for s in range(30)])
    again = np.array([env.reset(seed=s)[0][:2] for s in range(30)])
    np.testing.assert_array_equal(starts, again)
    assert len({tuple(np.round(p)) for p in starts}) >= 4  # several different start cells


def test_grid_holds_the_u_in_the_env_frame():
    # umaze's free cells: the top row, the right arm's middle, the bottom row (x right, y up, unit cells)
    env = make_maze2d_env("maze2d-umaze-v1")
    centres = {tuple(xy) for xy in env.grid.cell_center(env.grid.free_cells).tolist()}
    assert centres == {(-1.0, 1.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (-1.0, -1.0), (0.0, -1.0), (1.0, -1.0)}
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(20):  # every position stays inside a free cell
        obs, *_ = env.step(env.action_space.sample())
        assert env.grid.free[tuple(env.grid.cell_of(obs[:2]))]


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown maze2d dataset 'maze2d-open-v0'"):
        make_maze2d_env("maze2d-open-v0")
    with pytest.raises(ValueError, match="reward_type"):
        Maze2DEnv("umaze", reward_type="shaped")
