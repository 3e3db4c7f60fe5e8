"""The point-mass tasks: semicircle goals, wind and the escape room, against hand-computed steps."""

import numpy as np
import pytest

from rlkit.envs.meta.escape_room import EscapeRoomEnv, EscapeRoomFamily, first_wall_contact
from rlkit.envs.meta.point_robot import PointRobotSparseEnv, PointRobotSparseFamily
from rlkit.envs.meta.wind import WindEnv, WindFamily


def test_point_robot_moves_a_tenth_of_the_clipped_action_and_pays_inside_the_radius():
    env = PointRobotSparseEnv(task=[1.0, 0.0])
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0.0, 0.0]  # the evaluation start
    rewards = []
    for _ in range(9):
        obs, reward, terminated, truncated, info = env.step(np.array([5.0, 0.0]))  # clipped to 1
        rewards.append(reward)
        assert not terminated and not truncated
    np.testing.assert_allclose(obs, [0.9, 0.0], atol=1e-6)
    # at x = 0.7 the goal is 0.3 away, at 0.8 and 0.9 within 0.2 (1, not the original's relabelling -distance)
    assert rewards == [0.0] * 7 + [1.0, 1.0] and info["success"]
    obs, reward, *_ = env.step(np.array([0.0, 1.0]))
    np.testing.assert_allclose(obs, [0.9, 0.1], atol=1e-6)
    assert reward == 1.0  # distance 0.141


def test_point_robot_episode_is_60_steps_and_random_starts_fill_the_box():
    env = PointRobotSparseEnv(task=[0.0, 1.0], random_start=True)
    starts = np.array([env.reset(seed=7 if i == 0 else None)[0] for i in range(2000)])
    assert starts[:, 0].min() >= -1.5 and starts[:, 0].max() <= 1.5
    assert starts[:, 1].min() >= -0.5 and starts[:, 1].max() <= 1.5
    np.testing.assert_allclose(starts.mean(0), [0.0, 0.5], atol=0.05)
    truncations = [env.step(np.zeros(2))[3] for _ in range(60)]
    assert truncations == [False] * 59 + [True]


def test_semicircle_goals_are_on_the_upper_unit_circle():
    tasks = PointRobotSparseFamily().sample_tasks(5000, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(tasks, axis=1), 1.0)
    angles = np.arctan2(tasks[:, 1], tasks[:, 0])
    assert angles.min() >= 0 and angles.max() <= np.pi
    assert abs(angles.mean() - np.pi / 2) < 0.05 and abs(angles.std() - np.pi / np.sqrt(12)) < 0.05


def test_wind_adds_the_task_to_every_step_and_pays_near_0_1():
    env = WindEnv(task=[0.05, -0.02])
    assert env.reset(seed=0)[0].tolist() == [0.0, 0.0]
    obs, reward, *_ = env.step(np.array([1.0, 1.0]))
    np.testing.assert_allclose(obs, [0.15, 0.08], atol=1e-7)
    assert reward == 0.0
    family = WindFamily()
    # the reward ignores the wind: the same arrival point pays the same under any task
    next_obs = np.array([[0.1, 0.85], [0.0, 0.75], [0.3, 1.0]])
    for task in ([0.05, 0.05], [-0.05, 0.0]):
        assert family.reward(np.array(task), None, None, next_obs).tolist() == [1.0, 0.0, 0.0]
    winds = family.sample_tasks(1000, np.random.default_rng(1))
    assert np.abs(winds).max() <= 0.05 and winds.shape == (1000, 2)
    truncations = [env.step(np.zeros(2))[3] for _ in range(24)]
    assert truncations == [False] * 23 + [True]


@pytest.mark.parametrize(
    ("door", "expected", "reward"),
    [
        (np.pi / 2, [0.0, 1.05], 1.0),
        (0.0, [0.0, 0.99], 0.0),
        (np.pi / 2 + np.pi / 17, [0.0, 1.05], 1.0),  # the door is pi/8 wide: pi/17 off centre is inside
        (np.pi / 2 - np.pi / 15, [0.0, 0.99], 0.0),  # pi/15 off centre is outside
    ],
)
def test_escape_room_door_lets_through_and_the_wall_bounces_back(door, expected, reward):
    env = EscapeRoomEnv(task=[door])
    env.reset(seed=0)
    env._position = np.array([0.0, 0.95])  # set the state directly: 9 steps up would also get there
    obs, r, *_ = env.step(np.array([0.0, 1.0]))
    np.testing.assert_allclose(obs, expected, atol=1e-6)
    assert r == reward


def test_escape_room_door_at_pi_wraps_around_the_negative_x_axis():
    env = EscapeRoomEnv(task=[np.pi])
    env.reset(seed=0)
    env._position = np.array([-0.95, -0.005])  # crossing the wall at an angle just above -pi
    obs, reward, *_ = env.step(np.array([-1.0, 0.0]))
    np.testing.assert_allclose(obs, [-1.05, -0.005], atol=1e-6)
    assert reward == 1.0


def test_wall_contact_is_the_first_point_of_the_path_in_the_ring():
    contact = first_wall_contact(np.array([0.0, 0.5]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(contact, [0.0, 0.999])
    contact = first_wall_contact(np.array([0.0, 1.5]), np.array([0.0, -1.0]))
    np.testing.assert_allclose(contact, [0.0, 1.0])
    assert first_wall_contact(np.array([0.0, 0.5]), np.array([0.0, 0.1])) is None
    assert first_wall_contact(np.array([0.0, 1.5]), np.array([1.0, 0.0])) is None


def test_escape_room_random_starts_are_inside_the_disc():
    env = EscapeRoomEnv(task=[1.0], random_start=True)
    starts = np.array([env.reset(seed=3 if i == 0 else None)[0] for i in range(500)])
    radii = np.linalg.norm(starts, axis=1)
    assert radii.max() < 1.0 and abs(radii.mean() - 0.5) < 0.05
    doors = EscapeRoomFamily().sample_tasks(100, np.random.default_rng(0))
    assert doors.shape == (100, 1) and doors.min() >= 0 and doors.max() <= np.pi


def test_bad_tasks_and_actions_name_what_was_expected():
    with pytest.raises(ValueError, match=r"expected \(2,\)"):
        PointRobotSparseEnv(task=[1.0, 0.0, 0.0])
    env = PointRobotSparseEnv(task=[1.0, 0.0])
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"expected \(2,\) finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"next_obs has shape \(4, 1\)"):
        PointRobotSparseFamily().reward(np.zeros(2), None, None, np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"task has shape \(4,\); expected \(..., 2\)"):
        PointRobotSparseFamily().reward(np.zeros(4), None, None, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"task has shape \(4, 2\); expected \(..., 1\)"):
        EscapeRoomFamily().reward(np.zeros((4, 2)), None, None, np.zeros((4, 2)))
