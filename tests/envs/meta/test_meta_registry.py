"""The env-type registry: names of the original scripts, their settings, seeded construction, disjoint task splits."""

import pickle

import numpy as np
import pytest

from rlkit.envs.meta.bamdp import BAMDPWrapper
from rlkit.envs.meta.registry import META_ENV_TYPES, make_meta_env, meta_env_spec, task_family

OBS_DIMS = {
    "gridworld": 2,
    "point_robot_sparse": 2,
    "point_robot_wind": 2,
    "escape_room": 2,
    "cheetah_vel": 20,
    "ant_semicircle_sparse": 29,
    "ant_semicircle": 29,
}


def test_known_env_types_and_their_settings():
    assert set(META_ENV_TYPES) == set(OBS_DIMS)
    for env_type in META_ENV_TYPES:
        spec = meta_env_spec(env_type)
        family = task_family(env_type)
        assert family.max_episode_steps == spec.episode_steps and family.obs_dim == OBS_DIMS[env_type]
        assert spec.episodes_per_task == (4 if env_type == "gridworld" else 2)
    semicircle = meta_env_spec("point_robot_sparse")
    assert (semicircle.num_train_tasks, semicircle.num_eval_tasks) == (80, 20)
    assert task_family("ant_semicircle_sparse").sparse and not task_family("ant_semicircle").sparse


def test_unknown_env_type_lists_the_known_ones():
    with pytest.raises(KeyError, match="gridworld, point_robot_sparse"):
        make_meta_env("half_cheetah_dir")


@pytest.mark.parametrize("env_type", META_ENV_TYPES)
def test_observation_shapes_with_and_without_the_bamdp(env_type):
    env = make_meta_env(env_type, seed=0)
    assert isinstance(env, BAMDPWrapper)
    obs, _ = env.reset()
    assert obs.shape == (OBS_DIMS[env_type] + 1,) and env.observation_space.contains(obs)
    obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (OBS_DIMS[env_type] + 1,)
    plain = make_meta_env(env_type, bamdp=False, seed=0)
    assert plain.reset()[0].shape == (OBS_DIMS[env_type],)


def test_seeded_construction_is_reproducible():
    def run(seed):
        env = make_meta_env("point_robot_sparse", seed=seed, random_start=True)
        obs, info = env.reset()
        trace = [obs]
        for _ in range(130):
            obs, _, _, truncated, _ = env.step(env.action_space.sample())
            trace.append(obs)
            if truncated:
                break
        return info["task"], np.stack(trace)

    task_a, trace_a = run(5)
    task_b, trace_b = run(5)
    task_c, trace_c = run(6)
    np.testing.assert_array_equal(task_a, task_b)
    np.testing.assert_array_equal(trace_a, trace_b)
    assert len(trace_a) == 121  # reset + 2 x 60 steps
    assert not np.array_equal(task_a, task_c)


def test_grid_task_split_is_disjoint():
    train, test = meta_env_spec("gridworld").sample_task_split(np.random.default_rng(0))
    assert train.shape == (16, 2) and test.shape == (5, 2)
    assert not {tuple(t) for t in train.tolist()} & {tuple(t) for t in test.tolist()}
    with pytest.raises(ValueError, match="only 21 exist"):
        meta_env_spec("gridworld").sample_task_split(np.random.default_rng(0), 21, 21)


@pytest.mark.parametrize("env_type", META_ENV_TYPES)
def test_families_pickle_for_worker_processes(env_type):
    family = task_family(env_type)
    clone = pickle.loads(pickle.dumps(family))
    rng = np.random.default_rng(0)
    task = family.sample_tasks(1, rng)[0]
    obs, next_obs = rng.normal(size=(2, 10, family.obs_dim))
    actions = rng.uniform(-1, 1, size=(10, family.action_dim))
    expected = family.reward(task, obs, actions, next_obs)
    np.testing.assert_array_equal(clone.reward(task, obs, actions, next_obs), expected)
    assert clone.name == family.name
