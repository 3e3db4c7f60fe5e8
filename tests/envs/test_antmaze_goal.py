"""AntMazeGoalEnv: the antmaze datasets' observation and dynamics, sparse reward at the radius, starts, task names."""

import warnings

import numpy as np
import pytest

from rlkit.data.generators.antmaze import MAZES, OBS_DIM, generate_antmaze
from rlkit.envs.antmaze_goal import AntMazeGoalEnv
from rlkit.envs.goal_tasks import MAZE_GOAL_TASKS, make_maze_goal_env, maze_goal_task
from rlkit.envs.maze_planning import MazeGrid, distance_maps

UMAZE = MazeGrid.from_map([[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], 4.0)
START_XY = np.array([-4.0, 4.0])  # centre of (1, 1): x = (1.5 - 2.5) * 4, y = (2.5 - 1.5) * 4
AT_REST = np.r_[0.75, 1.0, np.zeros(3 + 8 + 14)]  # obs[2:]: torso z, quaternion (1, 0, 0, 0), joints 0, qvel 0


@pytest.fixture(scope="module")
def umaze_data():
    """One 1000-step episode of antmaze-umaze-v2 from the generator (about a second)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        td, _ = generate_antmaze("antmaze-umaze-v2", 1000, 0, progress=False, workers=1)
    return td["observation"].numpy().astype(np.float64), td["action"].numpy()


def still_env(offset: float, **kwargs) -> AntMazeGoalEnv:
    """The ant at rest exactly at (1, 1)'s centre, target ``offset`` m to its right."""
    return AntMazeGoalEnv("umaze", START_XY + [offset, 0.0], start_cells=[(1, 1)], start_noise=0.0, **kwargs)


def test_antmaze_task_names_resolve_to_ant_tasks_with_hand_computed_targets():
    task = maze_goal_task("antmaze-umaze-bottom-left")
    assert (task.agent, task.maze, task.start_cell, task.goal_cell) == ("ant", "umaze", (1, 1), (3, 1))
    env = make_maze_goal_env(task.name)
    assert isinstance(env, AntMazeGoalEnv) and env.max_episode_steps == 700  # D4RL's antmaze-umaze limit
    np.testing.assert_array_equal(env.target_xy, [-4.0, -4.0])  # (3, 1): x = -4, y = (2.5 - 3.5) * 4
    medium = make_maze_goal_env("antmaze-medium-bottom-right", max_episode_steps=50)
    np.testing.assert_array_equal(medium.target_xy, [10.0, -10.0])  # (6, 6) of 8x8: (6.5 - 4) * 4, (4 - 6.5) * 4
    assert medium.max_episode_steps == 50 and make_maze_goal_env("antmaze-large-top-right").max_episode_steps == 1000
    assert [t.name for t in MAZE_GOAL_TASKS["antmaze-umaze"]] == [
        "antmaze-umaze-top-right", "antmaze-umaze-bottom-right", "antmaze-umaze-bottom-left"]
    dist = distance_maps(UMAZE.free)[UMAZE.flat(np.array((1, 1)))]
    assert [int(dist[t.goal_cell]) for t in MAZE_GOAL_TASKS["antmaze-umaze"]] == [2, 4, 6]
    for maze in ("umaze", "medium", "large"):  # each set contains D4RL's evaluation goal
        assert MAZES[maze].eval_goal_cell in {t.goal_cell for t in MAZE_GOAL_TASKS[f"antmaze-{maze}"]}
    assert maze_goal_task("medium-bottom-right").agent == "point"


def test_reset_stands_the_ant_still_near_the_start_cell_and_is_seeded():
    env = make_maze_goal_env("antmaze-umaze-top-right")
    starts = np.stack([env.reset(seed=s)[0] for s in range(10)])
    assert starts.shape == (10, OBS_DIM) and env.observation_space.shape == (29,)
    assert np.all(np.abs(starts[:, :2] - START_XY) <= 1.0)  # 0.25 cells of 4 m
    assert starts[:, 0].std() > 0.2  # the noise is real
    np.testing.assert_array_equal(starts[:, 2:], np.broadcast_to(AT_REST, (10, 27)))
    np.testing.assert_array_equal(env.reset(seed=4)[0], starts[4])


def test_observation_layout_and_dynamics_equal_the_antmaze_dataset(umaze_data):
    obs, actions = umaze_data
    env = AntMazeGoalEnv("umaze", target_cell=(3, 1), start_cells=[(1, 1)])
    first, _ = env.reset(seed=0)
    # the dataset's episode also starts at rest in (1, 1): everything but the xy noise is identical
    np.testing.assert_array_equal(obs[0, 2:], first[2:])
    assert np.all(np.abs(obs[0, :2] - START_XY) <= 1.0)
    # from the dataset's own state, the dataset's actions reproduce its next observations (float32 storage)
    np.testing.assert_allclose(env.set_state(obs[0, :15], obs[0, 15:]), obs[0], atol=1e-12)
    replay = np.stack([env.step(action)[0] for action in actions[:20]])
    np.testing.assert_allclose(replay, obs[1:21], atol=1e-4, rtol=0)
    assert np.abs(obs[20, 7:15]).max() > 0.1  # the legs moved: the replay checked real motion


def test_sparse_reward_success_and_termination_at_the_radius():
    # with zero torques the ant settles straight down: x, y stay exactly at the cell centre
    for offset, inside in ((0.5, True), (0.51, False)):
        env = still_env(offset)
        obs, info = env.reset(seed=0)
        np.testing.assert_array_equal(obs[:2], START_XY)
        assert info["success"] is inside and info["distance"] == pytest.approx(offset)
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(np.zeros(8))
        assert (reward, terminated, truncated, info["success"]) == (float(inside), inside, False, inside)
        np.testing.assert_array_equal(info["goal"], START_XY + [offset, 0.0])
    env = still_env(0.0, terminate_on_success=False)
    env.reset(seed=0)
    assert env.step(np.zeros(8))[1:3] == (1.0, False)


def test_truncation_at_the_time_limit_and_optionally_when_flipped():
    env = still_env(3.0, max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.ones(8) * 5.0)[1:4] for _ in range(3)]  # out-of-range actions are clipped, not refused
    assert flags == [(0.0, False, False), (0.0, False, False), (0.0, False, True)]
    upside_down = np.r_[START_XY, 0.75, 0.0, 1.0, 0.0, 0.0, np.zeros(8)]  # 180 degrees about x
    for truncate in (False, True):
        env = still_env(3.0, truncate_on_flip=truncate)
        env.reset(seed=0)
        env.set_state(upside_down, np.zeros(14))
        _, _, terminated, truncated, info = env.step(np.zeros(8))
        assert info["flipped"] and (terminated, truncated) == (False, truncate)


def test_sampled_starts_are_far_enough_from_the_target():
    env = make_maze_goal_env("antmaze-umaze-bottom-left", start="sampled", min_start_cells=4, start_noise=0.0)
    # moves from (3, 1): (1, 3) 4, (1, 2) 5, (1, 1) 6; the rest are nearer
    assert sorted(map(tuple, env.start_cells.tolist())) == [(1, 1), (1, 2), (1, 3)]
    cells = {tuple(UMAZE.cell_of(env.reset(seed=s)[0][:2])) for s in range(15)}
    assert cells == {(1, 1), (1, 2), (1, 3)}


def test_bad_inputs_name_what_is_wrong():
    with pytest.raises(ValueError, match="unknown maze 'huge'"):
        AntMazeGoalEnv("huge", target_cell=(1, 1), start_cells=[(1, 1)])
    with pytest.raises(ValueError, match=r"wall cell \(2, 1\)"):
        AntMazeGoalEnv("umaze", (-4.0, 0.0), start_cells=[(1, 1)])
    with pytest.raises(ValueError, match=r"start cell \(2, 2\)"):
        AntMazeGoalEnv("umaze", target_cell=(3, 1), start_cells=[(2, 2)])
    with pytest.raises(ValueError, match="max_episode_steps=0"):
        AntMazeGoalEnv("umaze", target_cell=(3, 1), start_cells=[(1, 1)], max_episode_steps=0)
    env = still_env(1.0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(8))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action of shape \(2,\); expected \(8,\)"):
        env.step(np.zeros(2))
    with pytest.raises(ValueError, match=r"qpos \(29,\)"):
        env.set_state(np.zeros(29), np.zeros(14))
