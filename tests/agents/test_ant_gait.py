"""The trotting gait, flip detection and the maze navigator."""

import math
import warnings

import mujoco
import numpy as np
import pytest

from rlkit.agents.ant_gait import GYMNASIUM_ACTUATOR_JOINTS, GaitParams, TrotGait
from rlkit.agents.ant_maze_navigator import AntMazeNavigator
from rlkit.data.generators.gait_search import TUNED_GAIT, make_open_floor_env
from rlkit.envs.ant_state import (
    actuator_joint_indices,
    ant_mujoco_env,
    ant_observation,
    is_flipped,
    torso_up_z,
    yaw,
)
from rlkit.envs.maze_planning import MazeGrid

U_MAZE = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]


@pytest.fixture(scope="module")
def floor_env():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = make_open_floor_env()
    yield env
    env.close()


# ---------------------------------------------------------------- gait pieces


def test_leg_push_hand_computed():
    np.testing.assert_allclose(TrotGait.leg_push(np.array([1.0, 0.0])), [1, 1, -1, -1], atol=1e-12)
    np.testing.assert_allclose(TrotGait.leg_push(np.array([0.0, 1.0])), [-1, 1, 1, -1], atol=1e-12)
    diagonal = np.array([1.0, 1.0]) / math.sqrt(2)
    np.testing.assert_allclose(TrotGait.leg_push(diagonal), [0, 1, 0, -1], atol=1e-12)
    np.testing.assert_array_equal(TrotGait.leg_push(np.zeros(2)), np.zeros(4))


def test_params_round_trip_and_randomisation_bounds():
    values = TUNED_GAIT.to_array()
    assert GaitParams.from_array(values) == TUNED_GAIT
    with pytest.raises(ValueError, match="7"):
        GaitParams.from_array(values[:5])
    rng = np.random.default_rng(0)
    a, b = TUNED_GAIT.randomized(rng, 0.05), TUNED_GAIT.randomized(rng, 0.05)
    assert a != b
    ratio = a.to_array()[:-1] / values[:-1]
    assert np.all(np.abs(ratio - 1) <= 0.05) and not np.allclose(ratio, 1)
    assert abs(a.phase_offset - TUNED_GAIT.phase_offset) <= 0.05


def test_act_maps_joint_torques_to_gymnasium_actuator_order(floor_env):
    qpos_index, qvel_index = actuator_joint_indices(ant_mujoco_env(floor_env).model)
    np.testing.assert_array_equal(qpos_index - 7, GYMNASIUM_ACTUATOR_JOINTS)  # hip_4, ankle_4, hip_1, ...
    np.testing.assert_array_equal(qvel_index - 6, GYMNASIUM_ACTUATOR_JOINTS)
    params = GaitParams(2.0, 0.4, 0.6, 0.2, 3.0, 0.2, 0.5)
    gait = TrotGait(params, phase=0.3)
    qpos = np.zeros(15)
    qpos[3] = 1.0  # upright, heading +x
    qpos[7:] = np.linspace(-0.3, 0.3, 8)
    qvel = np.zeros(14)
    qvel[6:] = np.linspace(0.5, -0.5, 8)
    action = gait.act(qpos, qvel, np.array([2.0, 0.0]))
    # hip_1 (joint 0) is actuator 2: push +1 for +x, target 0.4 sin(0.3), PD on (q, qd) of joint 0.
    expected_hip1 = np.clip(3.0 * (0.4 * math.sin(0.3) - qpos[7]) - 0.2 * qvel[6], -1, 1)
    assert action[2] == pytest.approx(expected_hip1)
    # ankle_4 (joint 7) is actuator 1: sign +1, phase 0.3 + pi.
    target = 0.6 + 0.2 * math.cos(0.3 + math.pi + 0.5)
    assert action[1] == pytest.approx(np.clip(3.0 * (target - qpos[14]) - 0.2 * qvel[13], -1, 1))
    assert gait.phase == pytest.approx(0.3 + 2 * math.pi * 2.0 * 0.05)
    with pytest.raises(ValueError, match="permutation"):
        TrotGait(params, actuator_joints=np.arange(7))


@pytest.mark.parametrize("direction", [(1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (0.6, 0.8)])
def test_commanded_direction_moves_the_ant_that_way(floor_env, direction):
    direction = np.array(direction)
    floor_env.reset(seed=1, options={"reset_cell": (4, 4), "goal_cell": (1, 1)})
    ant = ant_mujoco_env(floor_env)
    gait = TrotGait(TUNED_GAIT)
    start = ant.data.qpos[:2].copy()
    for _ in range(150):  # 7.5 s
        ant.do_simulation(gait.act(ant.data.qpos, ant.data.qvel, direction), ant.frame_skip)
    moved = ant.data.qpos[:2] - start
    assert np.linalg.norm(moved) > 4.0  # > 0.5 m/s
    assert moved @ direction / np.linalg.norm(moved) > 0.95
    assert not is_flipped(ant.data.qpos[3:7])


# ---------------------------------------------------------------- ant state


def test_flip_detection_on_hand_set_quaternions():
    upright = np.array([1.0, 0.0, 0.0, 0.0])
    upside_down = np.array([0.0, 1.0, 0.0, 0.0])  # 180 degrees about x
    on_side = np.array([math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0])  # 90 degrees about x
    assert not is_flipped(upright) and is_flipped(upside_down)
    assert torso_up_z(on_side) == pytest.approx(0.0, abs=1e-12) and not is_flipped(on_side)
    assert is_flipped(np.stack([upright, upside_down])).tolist() == [False, True]
    turned = np.array([math.cos(0.6), 0.0, 0.0, math.sin(0.6)])  # yaw 1.2 rad, still upright
    assert yaw(turned) == pytest.approx(1.2) and not is_flipped(turned)
    with pytest.raises(ValueError, match="quaternion"):
        torso_up_z(np.zeros(3))


def test_up_axis_matches_mujoco_torso_frame(floor_env):
    ant = ant_mujoco_env(floor_env)
    rng = np.random.default_rng(0)
    torso = mujoco.mj_name2id(ant.model, mujoco.mjtObj.mjOBJ_BODY, "torso")
    for _ in range(5):
        quat = rng.standard_normal(4)
        ant.data.qpos[3:7] = quat / np.linalg.norm(quat)
        mujoco.mj_forward(ant.model, ant.data)
        xmat = ant.data.xmat[torso].reshape(3, 3)
        assert torso_up_z(ant.data.qpos[3:7]) == pytest.approx(xmat[2, 2], abs=1e-9)
        assert yaw(ant.data.qpos[3:7]) == pytest.approx(math.atan2(xmat[1, 0], xmat[0, 0]), abs=1e-9)
    ant.data.qpos[3:7] = [0.0, 1.0, 0.0, 0.0]
    assert is_flipped(ant.data.qpos[3:7])


def test_ant_observation_is_qpos_then_qvel():
    qpos, qvel = np.arange(15.0), np.arange(100.0, 114.0)
    obs = ant_observation(qpos, qvel)
    assert obs.shape == (29,) and obs[14] == 14 and obs[15] == 100


def test_ant_mujoco_env_rejects_other_envs():
    with pytest.raises(TypeError, match="AntMaze"):
        ant_mujoco_env(object())


# ---------------------------------------------------------------- navigator


def _navigator(maze=U_MAZE, scaling=4.0, radius=1.0):
    return AntMazeNavigator(MazeGrid.from_map(maze, scaling), TrotGait(TUNED_GAIT), waypoint_radius=radius)


def test_waypoints_advance_on_entering_the_cell_and_end_at_the_goal():
    nav = _navigator()
    grid = nav.grid
    goal = grid.cell_center(np.array([3, 1])) + np.array([0.3, -0.2])
    centre = lambda cell: grid.cell_center(np.array(cell))  # noqa: E731
    np.testing.assert_allclose(nav.waypoint(centre((1, 1)), goal), centre((1, 2)))
    just_inside = centre((1, 2)) - np.array([1.9, 0.0])  # entered (1, 2) from the left: head on to (1, 3)
    np.testing.assert_allclose(nav.waypoint(just_inside, goal), centre((1, 3)))
    np.testing.assert_allclose(nav.waypoint(centre((3, 2)), goal), goal)  # next cell holds the goal: the point
    np.testing.assert_allclose(nav.waypoint(goal + 0.1, goal), goal)
    direction = nav.direction(centre((1, 1)), goal)
    np.testing.assert_allclose(direction, [1.0, 0.0])


def test_waypoints_within_radius_are_skipped():
    nav = _navigator(scaling=1.0, radius=1.2)  # cell centres 1 m apart: the next one is within the radius
    grid = nav.grid
    goal = grid.cell_center(np.array([3, 1]))
    np.testing.assert_allclose(nav.waypoint(grid.cell_center(np.array([1, 1])), goal), grid.cell_center([1, 3]))


def test_new_goal_is_replanned_at_once():
    nav = _navigator()
    grid = nav.grid
    here = grid.cell_center(np.array([1, 2]))
    np.testing.assert_allclose(nav.waypoint(here, grid.cell_center([3, 1])), grid.cell_center([1, 3]))
    np.testing.assert_allclose(nav.waypoint(here, grid.cell_center([1, 1])), grid.cell_center([1, 1]))


def test_bad_goals_raise():
    nav = _navigator()
    with pytest.raises(ValueError, match="wall cell"):
        nav.waypoint(nav.grid.cell_center([1, 1]), nav.grid.cell_center([2, 1]))
    split = [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1]]
    nav = _navigator(split)
    with pytest.raises(ValueError, match="cannot be reached"):
        nav.waypoint(nav.grid.cell_center([1, 1]), nav.grid.cell_center([2, 2]))


def test_a_point_following_the_navigator_stays_in_free_cells_and_arrives():
    """Kinematic check of path validity on a hand-made maze with turns: corner cutting never enters a wall cell."""
    maze = [
        [1, 1, 1, 1, 1, 1, 1],
        [1, 0, 0, 1, 0, 0, 1],
        [1, 1, 0, 1, 0, 1, 1],
        [1, 0, 0, 0, 0, 0, 1],
        [1, 0, 1, 1, 1, 0, 1],
        [1, 1, 1, 1, 1, 1, 1],
    ]
    nav = _navigator(maze)
    grid = nav.grid
    for start, goal_cell in [((1, 1), (1, 5)), ((4, 1), (4, 5)), ((1, 4), (1, 1))]:
        xy = grid.cell_center(np.array(start))
        goal = grid.cell_center(np.array(goal_cell))
        for _ in range(2000):
            if np.linalg.norm(xy - goal) < 0.1:
                break
            xy = xy + 0.05 * nav.direction(xy, goal)
            assert grid.free[tuple(grid.cell_of(xy))], f"entered wall cell {grid.cell_of(xy)} from {start}"
        assert np.linalg.norm(xy - goal) < 0.1
