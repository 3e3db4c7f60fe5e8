"""Reward shift/scale wrappers and the original's per-dataset transforms."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.envs.bandit import OneStepBandit
from rlkit.envs.reward_shaping import RewardTransform, ScaleReward, ShiftReward, original_reward_transform


def one_step(env, action):
    env.reset(seed=0)
    return env.step(np.array([action], np.float32))[1]


def test_shift_and_scale_wrappers():
    # the bandit pays 1 - 2a at a >= 0: 0.5 at a = 0.25
    assert one_step(ShiftReward(OneStepBandit()), 0.25) == pytest.approx(-0.5)
    assert one_step(ShiftReward(OneStepBandit(), shift=2.0), 0.25) == pytest.approx(2.5)
    assert one_step(ScaleReward(OneStepBandit(), scale=0.01), 0.25) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="scale=0"):
        ScaleReward(OneStepBandit(), 0.0)
    with pytest.raises(ValueError, match="shift"):
        ShiftReward(OneStepBandit(), float("nan"))


def test_transform_applies_alike_to_data_and_envs():
    transform = RewardTransform(scale=2.0, shift=-1.0)
    assert transform(np.array([0.0, 0.5])).tolist() == [-1.0, 0.0]
    assert transform(torch.tensor([1.5])).tolist() == [2.0]
    env = transform.wrap(OneStepBandit())
    assert one_step(env, 0.25) == pytest.approx(transform(0.5))
    plain = OneStepBandit()
    assert RewardTransform().wrap(plain) is plain


@pytest.mark.parametrize(
    ("name", "scale", "shift"),
    [
        ("antmaze-umaze-v2", 1.0, -1.0),
        ("hammer-human-v1", 1e-3, 0.0),
        ("pen-cloned-v1", 1e-2, 0.0),
        ("door-expert-v1", 1e-2, 0.0),
        ("relocate-human-v1", 1e-2, 0.0),
        ("hopper-medium-v2", 1.0, 0.0),
        ("maze2d-umaze-v1", 1.0, 0.0),
    ],
)
def test_original_transforms(name, scale, shift):
    assert original_reward_transform(name) == RewardTransform(scale=scale, shift=shift)


def test_wrapped_env_is_still_a_gym_env():
    assert isinstance(RewardTransform(shift=-1.0).wrap(OneStepBandit()), gym.Wrapper)
