"""HalfCheetahVel and AntSemiCircle(Sparse): observation layouts, the custom ant, starts, hand-computed rewards."""

import numpy as np
import pytest

from rlkit.envs.meta.ant_semicircle import AntSemiCircleEnv, AntSemiCircleFamily
from rlkit.envs.meta.cheetah_vel import CheetahVelFamily, HalfCheetahVelEnv


def test_cheetah_observation_layout_and_velocity_reward():
    env = HalfCheetahVelEnv(task=[1.5])
    obs, _ = env.reset(seed=0)
    assert obs.shape == (20,) and env.action_space.shape == (6,) and env.dt == pytest.approx(0.05)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x_before = env.data.qpos[0]
        action = rng.uniform(-1.5, 1.5, size=6)  # out-of-range parts are clipped, in the cost too
        obs, reward, terminated, truncated, _ = env.step(action)
        qpos, qvel = env.data.qpos, env.data.qvel
        np.testing.assert_array_equal(obs[:8], qpos[1:])
        np.testing.assert_array_equal(obs[8:17], qvel)
        np.testing.assert_allclose(obs[17:], [qpos[0], 0.0, qpos[1] + 0.7], atol=1e-12)  # torso frame
        expected = -abs((qpos[0] - x_before) / 0.05 - 1.5) - 0.05 * np.sum(np.clip(action, -1, 1) ** 2)
        assert reward == pytest.approx(expected, abs=1e-9) and not terminated and not truncated


@pytest.mark.parametrize("make", [lambda: HalfCheetahVelEnv(task=[1.0]), lambda: AntSemiCircleEnv(task=[0.0, 1.0])])
def test_seeded_episodes_replay_exactly(make):
    env = make()
    actions = np.random.default_rng(0).uniform(-1, 1, size=(5, env.action_space.shape[0]))

    def run():
        obs = [env.reset(seed=3)[0]]
        rewards = []
        for action in actions:
            o, r, *_ = env.step(action)
            obs.append(o)
            rewards.append(r)
        return np.stack(obs), rewards

    (obs_a, rew_a), (obs_b, rew_b) = run(), run()
    np.testing.assert_array_equal(obs_a, obs_b)
    assert rew_a == rew_b


def test_cheetah_reset_is_seeded_and_noisy_and_tasks_are_in_0_3():
    env = HalfCheetahVelEnv(task=[1.0])
    a, b, c = env.reset(seed=1)[0], env.reset(seed=1)[0], env.reset(seed=2)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and 0 < np.abs(a[:8]).max() <= 0.1
    tasks = CheetahVelFamily().sample_tasks(1000, np.random.default_rng(0))
    assert tasks.shape == (1000, 1) and tasks.min() >= 0 and tasks.max() <= 3 and abs(tasks.mean() - 1.5) < 0.1


def test_cheetah_relabelling_uses_obs_and_next_obs():
    family = CheetahVelFamily()
    obs, next_obs = np.zeros((2, 20)), np.zeros((2, 20))
    next_obs[:, 17] = [0.1, -0.05]  # x moved by 0.1 and -0.05 in dt = 0.05: v = 2 and -1
    action = np.array([[0.0] * 6, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    rewards = family.reward(np.array([[2.5], [0.0]]), obs, action, next_obs)
    np.testing.assert_allclose(rewards, [-0.5, -1.0 - 0.1])


def test_custom_ant_has_gear_150_and_a_29_d_observation():
    env = AntSemiCircleEnv(task=[0.0, 1.0])
    assert (env.model.actuator_gear[:, 0] == 150).all() and env.model.nu == 8
    assert (AntSemiCircleEnv(task=[0.0, 1.0], gear=30).model.actuator_gear[:, 0] == 30).all()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (29,) and obs[:2].tolist() == [0.0, 0.0] and obs[2] == pytest.approx(0.75)
    assert (obs[15:] == 0).all()  # the original's start: qpos0 at the origin, at rest
    obs, reward, terminated, truncated, _ = env.step(np.zeros(8))
    np.testing.assert_array_equal(obs, np.concatenate([env.data.qpos, env.data.qvel]))
    assert not terminated and not truncated


def test_ant_rewards_by_hand():
    next_obs = np.zeros((3, 29))
    next_obs[:, :2] = [[0.9, 0.1], [0.5, 0.5], [1.0, 0.0]]
    action = np.zeros((3, 8))
    action[1, :2] = 1.0
    action[2, 0] = 3.0  # clipped to 1
    task = np.array([1.0, 0.0])
    sparse = AntSemiCircleFamily(sparse=True).reward(task, None, action, next_obs)
    dense = AntSemiCircleFamily(sparse=False).reward(task, None, action, next_obs)
    np.testing.assert_allclose(sparse, [1.0, 0.0 - 0.2, 1.0 - 0.1])
    np.testing.assert_allclose(dense, [-0.2, -1.0 - 0.2, -0.1])


def test_ant_step_pays_the_sparse_goal_when_the_torso_is_near_it():
    env = AntSemiCircleEnv(task=[0.0, 1.0])
    env.reset(seed=0)
    qpos = env.init_qpos.copy()
    qpos[:2] = [0.0, 0.95]
    env.set_state(qpos, env.init_qvel)
    env._obs = np.concatenate([env.data.qpos, env.data.qvel])
    action = np.full(8, 0.5)
    obs, reward, *_, info = env.step(action)
    assert np.linalg.norm(obs[:2] - [0.0, 1.0]) <= 0.2 and info["success"]
    assert reward == pytest.approx(1.0 - 0.1 * 8 * 0.25)


def test_ant_data_collection_starts_avoid_the_goal_ring():
    env = AntSemiCircleEnv(task=[0.0, 1.0], random_start=True)
    starts = np.array([env.reset(seed=4 if i == 0 else None)[0][:2] for i in range(300)])
    radii = np.linalg.norm(starts, axis=1)
    assert ((radii < 0.8) | (radii > 1.2)).all()
    assert starts[:, 0].min() >= -1.5 and starts[:, 0].max() <= 1.5
    assert starts[:, 1].min() >= -0.5 and starts[:, 1].max() <= 1.5
