import numpy as np
import pytest

from rlkit.envs.goal_tasks import (
    KITCHEN_GOAL_DIMS,
    KITCHEN_TASKS,
    MAZE_GOAL_TASKS,
    MazeGoalEnv,
    kitchen_goal_dims,
    make_kitchen_env,
    make_maze_goal_env,
    maze_goal_task,
)
from rlkit.envs.kitchen_layout import d4rl_dims_to_gymnasium, d4rl_goal_vector
from rlkit.envs.maze_planning import MazeGrid, distance_maps

MEDIUM = MazeGrid.from_map([
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 1, 1, 0, 0, 1],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [1, 1, 0, 0, 0, 1, 1, 1],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [1, 0, 1, 0, 0, 1, 0, 1],
    [1, 0, 0, 0, 1, 0, 0, 1],
    [1, 1, 1, 1, 1, 1, 1, 1],
])


def test_medium_tasks_are_three_far_goals_from_one_start():
    tasks = MAZE_GOAL_TASKS["medium"]
    assert len(tasks) == 3 and len({t.goal_cell for t in tasks}) == 3
    dist = distance_maps(MEDIUM.free)[MEDIUM.flat(np.array((1, 1)))]
    assert sorted(int(dist[t.goal_cell]) for t in tasks) == [7, 9, 10]  # moves from (1, 1), by hand
    assert maze_goal_task("medium-bottom-right").goal_cell == (6, 6)


def test_medium6_goals_are_each_six_moves_from_the_start_in_the_medium_maze():
    tasks = MAZE_GOAL_TASKS["medium6"]
    dist = distance_maps(MEDIUM.free)[MEDIUM.flat(np.array((1, 1)))]
    assert [t.maze for t in tasks] == ["medium"] * 3 and [int(dist[t.goal_cell]) for t in tasks] == [6, 6, 6]
    assert [t.name for t in tasks] == ["medium6-top", "medium6-centre", "medium6-left"]


def test_every_task_builds_with_free_cells_and_the_cell_centre_as_target():
    for tasks in MAZE_GOAL_TASKS.values():
        for task in tasks:
            env = make_maze_goal_env(task.name)
            assert env.grid.free[task.start_cell] and env.grid.free[task.goal_cell]
            np.testing.assert_allclose(env.target_xy, env.grid.cell_center(np.array(task.goal_cell)))
            env.close()


def test_fixed_start_is_near_the_start_cell_with_zero_velocity_and_seeded():
    env = make_maze_goal_env("medium-top-right")  # start (1, 1): centre (-2.5, 2.5)
    starts = np.stack([env.reset(seed=s)[0] for s in range(20)])
    assert np.all(np.abs(starts[:, :2] - [-2.5, 2.5]) <= 0.25) and np.all(starts[:, 2:] == 0)
    assert starts[:, 0].std() > 0.05  # the noise is real
    np.testing.assert_array_equal(env.reset(seed=3)[0], starts[3])


def test_sparse_reward_success_and_termination_at_the_radius():
    # start exactly at the centre of (1, 1) = (-2.5, 2.5); target 0.5 away (inclusive) and 0.51 away
    for offset, inside in ((0.5, True), (0.51, False)):
        env = MazeGoalEnv("medium", (-2.5 + offset, 2.5), start_cells=[(1, 1)], start_noise=0.0)
        obs, info = env.reset(seed=0)
        np.testing.assert_allclose(obs, [-2.5, 2.5, 0, 0])
        assert info["success"] is inside and info["distance"] == pytest.approx(offset)
        obs, reward, terminated, truncated, info = env.step(np.zeros(2))
        assert (reward, terminated, truncated, info["success"]) == (float(inside), inside, False, inside)
    env = MazeGoalEnv("medium", (-2.5, 2.5), start_cells=[(1, 1)], terminate_on_success=False)
    env.reset(seed=0)
    assert env.step(np.zeros(2))[1:3] == (1.0, False)


def test_truncation_after_max_episode_steps_and_moving_away_gives_no_reward():
    env = make_maze_goal_env("umaze-top-left", max_episode_steps=4)
    env.reset(seed=1)
    flags = [env.step(np.array([1.0, 0.0]))[1:4] for _ in range(4)]
    assert flags == [(0.0, False, False)] * 3 + [(0.0, False, True)]


def test_sampled_starts_avoid_cells_near_the_target_and_vary():
    env = make_maze_goal_env("medium-bottom-right", start="sampled", min_start_cells=4, start_noise=0.0)
    dist = distance_maps(MEDIUM.free)[MEDIUM.flat(np.array((6, 6)))]
    assert len(env.start_cells) == int(((dist >= 4)).sum())
    cells = {tuple(MEDIUM.cell_of(env.reset(seed=s)[0][:2])) for s in range(30)}
    assert len(cells) > 5 and all(dist[c] >= 4 for c in cells)


def test_bad_maze_inputs_name_what_is_wrong():
    with pytest.raises(ValueError, match="wall cell"):
        MazeGoalEnv("medium", (-3.5, 3.5), start_cells=[(1, 1)])
    with pytest.raises(ValueError, match=r"start cell \(0, 0\)"):
        MazeGoalEnv("medium", target_cell=(6, 6), start_cells=[(0, 0)])
    with pytest.raises(ValueError, match="exactly one"):
        MazeGoalEnv("medium", (0.5, 0.5), target_cell=(6, 6), start_cells=[(1, 1)])
    with pytest.raises(ValueError, match="start='nowhere'"):
        MazeGoalEnv("medium", target_cell=(6, 6), start="nowhere")
    with pytest.raises(ValueError, match="unknown maze goal task 'medium-nowhere'"):
        maze_goal_task("medium-nowhere")


def test_kitchen_goal_dims_map_between_layouts():
    assert len(KITCHEN_GOAL_DIMS["d4rl"]) == 21
    assert KITCHEN_GOAL_DIMS["gymnasium"] == d4rl_dims_to_gymnasium(KITCHEN_GOAL_DIMS["d4rl"])
    assert kitchen_goal_dims("gymnasium")[9:] == (20, 21, 26, 27, 31, 32, 33, 34, 35, 36, 37, 38)
    with pytest.raises(ValueError, match="kitchen layout 'mujoco'"):
        kitchen_goal_dims("mujoco")


def test_kitchen_env_runs_the_four_tasks_in_both_layouts():
    d4rl = make_kitchen_env(layout="d4rl")
    gym_layout = make_kitchen_env(layout="gymnasium")
    obs60, info = d4rl.reset(seed=0)
    obs59, _ = gym_layout.reset(seed=0)
    assert obs60.shape == (60,) and obs59.shape == (59,)
    assert set(info["tasks_to_complete"]) == set(KITCHEN_TASKS) and info["success"] is False
    np.testing.assert_allclose(obs60[30:], d4rl_goal_vector(KITCHEN_TASKS))
    np.testing.assert_allclose(obs60[list(KITCHEN_GOAL_DIMS["d4rl"])], obs59[list(KITCHEN_GOAL_DIMS["gymnasium"])])
    action = np.zeros(9, dtype=np.float32)
    for _ in range(3):
        obs60, reward, terminated, truncated, info = d4rl.step(action)
        obs59 = gym_layout.step(action)[0]
    assert (reward, terminated, truncated, info["num_completed"]) == (0.0, False, False, 0)
    np.testing.assert_allclose(obs60[list(KITCHEN_GOAL_DIMS["d4rl"])], obs59[list(KITCHEN_GOAL_DIMS["gymnasium"])])
    with pytest.raises(ValueError, match="kitchen tasks"):
        make_kitchen_env(tasks=["dishwasher"])
