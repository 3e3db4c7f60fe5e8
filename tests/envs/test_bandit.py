"""The motivation bandit: reward at hand-picked actions, one-step episodes, and a dataset that avoids a = 0."""

import numpy as np
import pytest

from rlkit.data.registry import get_builder
from rlkit.envs.bandit import OneStepBandit, bandit_reward, generate_bandit_dataset


@pytest.mark.parametrize(
    ("action", "reward"),
    [(-1.0, 0.0), (-0.5, 0.25), (-0.1, 0.81), (0.0, 1.0), (0.25, 0.5), (0.5, 0.0), (1.0, -1.0), (3.0, -1.0), (-2, 0)],
)
def test_reward_at_hand_picked_actions(action, reward):
    assert float(bandit_reward(action)) == pytest.approx(reward)


def test_one_step_episodes():
    env = OneStepBandit()
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [1.0] and env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(np.array([-0.5], np.float32))
    assert (reward, terminated, truncated, info["optimal_reward"]) == (0.25, True, False, 1.0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1))


def test_dataset_never_shows_actions_near_the_optimum():
    td, meta = generate_bandit_dataset(1280, seed=3)
    actions = td.get("action").squeeze(1)
    assert td.batch_size[0] == 1280 and td.get("episode").tolist() == list(range(1280))
    assert bool(td.get(("next", "terminated")).all())
    assert float(actions.abs().min()) >= 0.5  # nothing in (-0.95, 0.5): the optimum 0 and its surroundings
    low = actions < 0
    assert int(low.sum()) == 1000 and bool((actions[low] <= -0.95).all())
    np.testing.assert_allclose(td.get(("next", "reward")).squeeze(1).numpy(), bandit_reward(actions.numpy()), rtol=1e-6)
    assert float(td.get(("next", "reward")).max()) <= 0.0025 + 1e-6  # the best data reward is far below 1
    assert meta["optimal_action"] == 0.0


def test_dataset_is_registered_and_seeded():
    builder = get_builder("bandit-motivation-v0")
    assert builder is not None and builder.default_steps == 128
    a, _ = builder.build(128, 0, progress=False)
    b, _ = builder.build(128, 0, progress=False)
    c, _ = builder.build(128, 1, progress=False)
    assert (a == b).all() and not bool((a.get("action") == c.get("action")).all())
    assert int((a.get("action") < 0).sum()) == 100


def test_dataset_builds_to_a_d4rl_file(tmp_path):
    from rlkit.data import build_dataset, load_dataset

    path = build_dataset("bandit-motivation-v0", out=tmp_path / "bandit.hdf5", progress=False)
    td = load_dataset(path)
    assert td.batch_size[0] == 128 and bool(td.get(("next", "terminated")).all())
    assert float(td.get("action").abs().min()) >= 0.5
