"""kitchen-*-v0 generators: D4RL's 60-d layout, determinism, tiny builds that load, and the completion report."""

import numpy as np
import pytest

from rlkit.data import build_dataset, load_d4rl
from rlkit.data import keys as K
from rlkit.data.generators import kitchen
from rlkit.data.generators.kitchen_report import completion_summary, format_completion_table, kitchen_report
from rlkit.envs.kitchen_layout import TARGET_TASKS, d4rl_goal_vector


@pytest.fixture(scope="module")
def tiny_mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("kitchen") / "mixed.hdf5"
    return build_dataset("kitchen-mixed-v0", steps=400, seed=3, out=path, progress=False)


def test_tiny_build_loads_in_d4rl_kitchen_layout(tiny_mixed):
    td = load_d4rl(tiny_mixed)
    assert td.batch_size[0] == 400
    assert td.get(K.OBS).shape == (400, 60) and td.get(K.ACTION).shape == (400, 9)
    assert td.get((K.INFOS, "gymnasium_observation")).shape == (400, 59)
    obs = td.get(K.OBS).numpy()
    np.testing.assert_allclose(obs[:, 30:], np.broadcast_to(d4rl_goal_vector(), (400, 30)), atol=1e-6)
    gym_obs = td.get((K.INFOS, "gymnasium_observation")).numpy()
    np.testing.assert_array_equal(obs[:, :9], gym_obs[:, :9])
    np.testing.assert_array_equal(obs[:, 9:30], gym_obs[:, 18:39])
    actions = td.get(K.ACTION).numpy()
    assert np.abs(actions).max() <= 1.0
    # rewards count completed target tasks (0..4); mixed episodes never complete all four
    rewards = td.get(K.REWARD).numpy()
    assert rewards.min() >= 0 and rewards.max() <= 3
    assert bool(td.get(K.DONE)[-1])  # the last row ends an episode (cut: a timeout)
    completed = td.get((K.INFOS, "tasks_completed")).numpy().astype(int)
    assert (completed != 15).all()


def test_same_seed_same_arrays():
    a, meta_a = kitchen.generate_kitchen("complete", 120, seed=5, progress=False, workers=1)
    b, _ = kitchen.generate_kitchen("complete", 120, seed=5, progress=False, workers=1)
    for key in (K.OBS, K.ACTION, K.REWARD):
        np.testing.assert_array_equal(a.get(key).numpy(), b.get(key).numpy())
    c, _ = kitchen.generate_kitchen("complete", 120, seed=6, progress=False, workers=1)
    assert not np.array_equal(a.get(K.ACTION).numpy(), c.get(K.ACTION).numpy())
    assert meta_a["last_episode_cut"] and bool(a.get(K.TRUNCATED)[-1])


def test_episode_plans_follow_d4rl_distinctions():
    rng = np.random.default_rng(0)
    assert all(kitchen.episode_plan("complete", rng) == list(TARGET_TASKS) for _ in range(20))
    mixed = [kitchen.episode_plan("mixed", rng) for _ in range(200)]
    assert all(2 <= len(plan) <= 3 and len(set(plan)) == len(plan) for plan in mixed)
    assert len({tuple(plan) for plan in mixed}) > 20  # varied combinations and orders
    partial = [kitchen.episode_plan("partial", rng) for _ in range(400)]
    full = np.mean([plan == list(TARGET_TASKS) for plan in partial])
    assert 0.18 < full < 0.32  # PARTIAL_FULL_FRACTION = 0.25
    with pytest.raises(ValueError, match="unknown kitchen variant"):
        kitchen.episode_plan("messy", rng)


def test_completion_summary_hand_computed():
    # episode 0: 3 rows, plans microwave+kettle (0b0011), finishes microwave only; episode 1: 2 rows, all four
    completed = np.array([0, 1, 1, 0, 15])
    plan = np.array([3, 3, 3, 15, 15])
    ends = np.array([False, False, True, False, True])
    summary = completion_summary(completed, plan, ends)
    assert summary["episodes"] == 2 and summary["mean_steps"] == 2.5
    assert summary["done"] == {"microwave": 1.0, "kettle": 0.5, "bottom burner": 0.5, "light switch": 0.5}
    assert summary["done_when_planned"]["kettle"] == 0.5
    assert summary["all_four"] == 0.5 and summary["failed_episodes"] == 1
    assert summary["success"] == pytest.approx(5 / 6)
    table = format_completion_table(summary, title="x")
    assert "| kettle | 50.0% | 50.0% |" in table and "| all four | 50.0% |" in table


def test_report_reads_a_built_file(tiny_mixed):
    table = kitchen_report(tiny_mixed)
    assert "| microwave |" in table and "episodes:" in table
    with pytest.raises(FileNotFoundError, match="build it with"):
        kitchen_report("kitchen-nonexistent-v0")
