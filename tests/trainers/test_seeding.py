"""Seeding: every global RNG, per-sub-env seeds, gymnasium envs."""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.trainers.seeding import seed_env, seed_everything, seed_vector_env, sub_env_seeds


def _draws(generator: np.random.Generator) -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(()).item(), float(generator.random())


def test_seed_everything_repeats_every_rng():
    first = _draws(seed_everything(3))
    assert _draws(seed_everything(3)) == first
    assert all(a != b for a, b in zip(_draws(seed_everything(4)), first))


def test_bad_seeds():
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32 - 1\], got -1"):
        seed_everything(-1)
    with pytest.raises(TypeError, match="must be an int, got float"):
        seed_everything(1.0)


def test_sub_env_seeds_are_fixed_and_independent_across_run_seeds():
    assert sub_env_seeds(0, 4) == sub_env_seeds(0, 4)
    assert sub_env_seeds(0, 4)[:2] == sub_env_seeds(0, 2)
    assert len(set(sub_env_seeds(0, 4))) == 4
    assert not set(sub_env_seeds(0, 4)) & set(sub_env_seeds(1, 4))  # unlike seed + i


class NoiseEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        return self.reset()[0], 0.0, False, False, {}


def test_seed_env_and_vector_env_repeat():
    env = NoiseEnv()
    first = seed_env(env, 5)[0], env.action_space.sample()
    again = seed_env(env, 5)[0], env.action_space.sample()
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])

    envs = gym.vector.SyncVectorEnv([NoiseEnv] * 3)
    obs, _ = seed_vector_env(envs, 5)
    actions = envs.action_space.sample()
    obs_again, _ = seed_vector_env(envs, 5)
    assert np.array_equal(obs, obs_again) and np.array_equal(actions, envs.action_space.sample())
    assert len({tuple(row) for row in obs}) == 3  # every sub-env got its own seed
    envs.close()
