"""The D4RL (60-d) <-> gymnasium (59-d) kitchen observation adapter."""

import numpy as np
import pytest
import torch

from rlkit.envs import kitchen_layout as kl


def _gym_obs(batch: int = 2) -> np.ndarray:
    # value = 100 * row + index, so every entry says where it came from
    return (np.arange(59)[None, :] + 100.0 * np.arange(batch)[:, None]).astype(np.float32)


def test_gymnasium_to_d4rl_takes_positions_and_appends_target_goal():
    obs = _gym_obs()
    out = kl.gymnasium_to_d4rl(obs)
    assert out.shape == (2, 60) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :9], obs[:, :9])  # joint positions
    np.testing.assert_array_equal(out[:, 9:30], obs[:, 18:39])  # object positions, velocities skipped
    goal = out[0, 30:]
    assert goal[22] == pytest.approx(-0.75)  # microwave
    np.testing.assert_allclose(goal[[11, 12]], [-0.88, -0.01])  # bottom burner
    np.testing.assert_allclose(goal[[17, 18]], [-0.69, -0.05])  # light switch
    np.testing.assert_allclose(goal[23:30], [-0.23, 0.75, 1.62, 0.99, 0.0, 0.0, -0.06], atol=1e-6)  # kettle
    assert np.count_nonzero(goal) == 10  # 2 + 2 + 1 + 5 nonzero: slide/hinge/top burner are not targets
    np.testing.assert_array_equal(out[1, 30:], goal)


def test_d4rl_to_gymnasium_fills_missing_velocities():
    d4rl = np.arange(60, dtype=np.float64)[None]
    out = kl.d4rl_to_gymnasium(d4rl)
    assert out.shape == (1, 59)
    np.testing.assert_array_equal(out[0, :9], np.arange(9))
    np.testing.assert_array_equal(out[0, 18:39], np.arange(9, 30))
    assert np.isnan(out[0, 9:18]).all() and np.isnan(out[0, 39:]).all()
    zeros = kl.d4rl_to_gymnasium(d4rl, fill=0.0)
    assert (zeros[0, 39:] == 0).all()


def test_round_trip_and_torch():
    obs = torch.from_numpy(_gym_obs())
    back = kl.d4rl_to_gymnasium(kl.gymnasium_to_d4rl(obs))
    assert isinstance(back, torch.Tensor)
    positions = list(range(9)) + list(range(18, 39))
    torch.testing.assert_close(back[:, positions], obs[:, positions])


def test_dim_maps_match_ptgm_goal_dims():
    assert kl.d4rl_dims_to_gymnasium(kl.PTGM_GOAL_DIMS_D4RL) == kl.PTGM_GOAL_DIMS_GYMNASIUM
    assert kl.gymnasium_dims_to_d4rl(kl.PTGM_GOAL_DIMS_GYMNASIUM) == kl.PTGM_GOAL_DIMS_D4RL
    assert (*range(9), 20, 21, 26, 27, 31, *range(32, 39)) == kl.PTGM_GOAL_DIMS_GYMNASIUM
    with pytest.raises(ValueError, match="dim 30"):
        kl.d4rl_dims_to_gymnasium([30])
    with pytest.raises(ValueError, match="dim 12 has no D4RL"):
        kl.gymnasium_dims_to_d4rl([12])  # a joint velocity


@pytest.mark.parametrize("shape", [(2, 60), (59,), (2, 58)])
def test_wrong_size_to_d4rl_raises(shape):
    if shape[-1] == 59:
        kl.gymnasium_to_d4rl(np.zeros(shape))  # the right size passes
        return
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 59\)"):
        kl.gymnasium_to_d4rl(np.zeros(shape))


def test_wrong_size_to_gymnasium_and_unknown_task_raise():
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 60\)"):
        kl.d4rl_to_gymnasium(np.zeros((3, 59)))
    with pytest.raises(ValueError, match="unknown kitchen task 'oven'"):
        kl.d4rl_goal_vector(["oven"])


def test_completed_tasks_mask_uses_d4rl_threshold():
    obs = np.zeros((2, 60))
    obs[0, 22] = -0.5  # microwave within 0.3 of -0.75
    obs[1, 22] = -0.4  # 0.35 away: not done
    mask = kl.completed_tasks_mask(obs)
    assert mask.shape == (2, 4)
    assert mask[:, 0].tolist() == [True, False]
    assert not mask[:, 1:].any()
