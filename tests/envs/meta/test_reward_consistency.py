"""For every family: ``TaskFamily.reward`` on stored transitions equals what ``step`` paid (numpy and torch), tasks
are drawn deterministically from the given RNG, and relabelling broadcasts over batches."""

import numpy as np
import pytest
import torch

from rlkit.envs.meta.registry import META_ENV_TYPES, meta_env_spec

STEPS = {"cheetah_vel": 40, "ant_semicircle": 40, "ant_semicircle_sparse": 40}


def steer(env_type, task, obs, rng):
    """Half the time head for where the reward is (so sparse rewards show up), else act at random."""
    if env_type == "gridworld":
        return int(rng.integers(5))
    random_action = rng.uniform(-1.2, 1.2, size=8 if "ant" in env_type else 6 if "cheetah" in env_type else 2)
    if rng.random() < 0.5 or env_type in ("cheetah_vel", "ant_semicircle", "ant_semicircle_sparse"):
        return random_action
    if env_type == "point_robot_wind":
        goal = np.array([0.0, 1.0])
    elif env_type == "escape_room":
        goal = 1.5 * np.array([np.cos(task[0]), np.sin(task[0])])  # through the door
    else:
        goal = task
    return np.clip((goal - obs[:2]) / 0.1, -1, 1)


def rollout(env_type, seed):
    """Transitions of a few episodes of one task: obs, action, reward, next_obs, task."""
    spec = meta_env_spec(env_type)
    rng = np.random.default_rng(seed)
    env = spec.family().make_env(**spec.collection_kwargs)
    obs, info = env.reset(seed=seed)
    task = info["task"]
    rows = []
    for _ in range(STEPS.get(env_type, 240)):
        action = steer(env_type, task, obs, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, np.atleast_1d(np.asarray(action, dtype=np.float64)), reward, next_obs))
        obs = env.reset()[0] if terminated or truncated else next_obs
    obs, actions, rewards, next_obs = (np.stack([row[i] for row in rows]) for i in range(4))
    return obs, actions, rewards.astype(np.float64), next_obs, task


@pytest.mark.parametrize("env_type", META_ENV_TYPES)
def test_relabelled_rewards_equal_step_rewards(env_type):
    family = meta_env_spec(env_type).family()
    obs, actions, rewards, next_obs, task = rollout(env_type, seed=3)
    if env_type not in ("cheetah_vel", "ant_semicircle", "ant_semicircle_sparse"):
        assert len(np.unique(rewards)) == 2  # both sides of a sparse reward were exercised
    np.testing.assert_array_equal(family.reward(task, obs, actions, next_obs), rewards)
    np.testing.assert_array_equal(family.reward(np.tile(task, (len(obs), 1)), obs, actions, next_obs), rewards)
    # the BAMDP done flag appended to observations does not change the reward
    flagged = [np.concatenate([o, np.ones((len(o), 1), o.dtype)], axis=1) for o in (obs, next_obs)]
    np.testing.assert_array_equal(family.reward(task, flagged[0], actions, flagged[1]), rewards)
    # torch, float64: identical; float32: the dtype is kept and the values agree
    as_t = [torch.as_tensor(x) for x in (task, obs, actions, next_obs)]
    out64 = family.reward(*as_t)
    assert out64.dtype == torch.float64 and out64.shape == (len(obs),)
    np.testing.assert_array_equal(out64.numpy(), rewards)
    out32 = family.reward(*[t.float() for t in as_t])
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), rewards, atol=2e-3)
    # leading batch axes: (tasks, time) in, (tasks, time) out
    split = [x.reshape(4, -1, x.shape[-1]) for x in (obs, actions, next_obs)]
    batched = family.reward(task[None, None], *split)
    np.testing.assert_array_equal(batched.reshape(-1), rewards)


@pytest.mark.parametrize("env_type", META_ENV_TYPES)
def test_task_sampling_is_seeded_and_shaped(env_type):
    family = meta_env_spec(env_type).family()
    a = family.sample_tasks(5, np.random.default_rng(11))
    b = family.sample_tasks(5, np.random.default_rng(11))
    c = family.sample_tasks(5, np.random.default_rng(12))
    assert a.shape == (5, family.task_dim) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({tuple(t) for t in a.tolist()}) == 5  # distinct
    assert family.sample_tasks(0, np.random.default_rng(0)).shape == (0, family.task_dim)
    with pytest.raises(ValueError, match="non-negative int"):
        family.sample_tasks(-1, np.random.default_rng(0))


@pytest.mark.parametrize("env_type", META_ENV_TYPES)
def test_relabelling_with_other_tasks_changes_rewards_only_through_the_task(env_type):
    family = meta_env_spec(env_type).family()
    obs, actions, rewards, next_obs, task = rollout(env_type, seed=5)
    others = family.sample_tasks(3, np.random.default_rng(0))
    relabelled = family.reward(others[:, None], obs[None], actions[None], next_obs[None])
    assert relabelled.shape == (3, len(obs))
    for i, other in enumerate(others):
        np.testing.assert_array_equal(relabelled[i], family.reward(other, obs, actions, next_obs))
