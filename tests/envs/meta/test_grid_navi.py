"""GridNavi: moves and walls, the +1 / -0.1 reward, the 21 goals, start options, cell indices."""

import numpy as np
import pytest
import torch

from rlkit.envs.meta.grid_navi import GridNaviEnv, GridNaviFamily

NOOP, UP, RIGHT, DOWN, LEFT = range(5)


def test_hand_computed_walk_to_the_goal():
    env = GridNaviEnv(task=[2.0, 1.0])
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0.0, 0.0] and obs.dtype == np.float32 and info["task"].tolist() == [2.0, 1.0]
    expected = [
        (LEFT, [0, 0], -0.1),  # wall
        (DOWN, [0, 0], -0.1),  # wall
        (RIGHT, [1, 0], -0.1),
        (UP, [1, 1], -0.1),
        (RIGHT, [2, 1], 1.0),
        (NOOP, [2, 1], 1.0),  # staying on the goal pays again, nothing terminates
        (UP, [2, 2], -0.1),
    ]
    for action, cell, reward in expected:
        obs, r, terminated, truncated, info = env.step(action)
        assert obs.tolist() == cell and r == reward and not terminated and not truncated
        assert info["success"] == (reward == 1.0)


def test_walls_on_the_far_side_and_truncation_after_15_steps():
    env = GridNaviEnv(task=[4.0, 4.0])
    env.reset(seed=0)
    for t in range(1, 16):
        obs, reward, terminated, truncated, _ = env.step(RIGHT if t % 2 else UP)
        assert not terminated and truncated == (t == 15)
    assert obs.tolist() == [4.0, 4.0] and reward == 1.0
    with pytest.raises(RuntimeError, match="after the episode ended"):
        env.step(NOOP)


def test_goal_set_excludes_the_start_corner():
    goals = GridNaviFamily().goals
    assert goals.shape == (21, 2)
    cells = {tuple(g) for g in goals.astype(int).tolist()}
    assert len(cells) == 21 and not cells & {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert cells | {(0, 0), (0, 1), (1, 0), (1, 1)} == {(x, y) for x in range(5) for y in range(5)}
    with pytest.raises(ValueError, match="not a goal cell"):
        GridNaviEnv(task=[1.0, 1.0])


def test_sampling_without_replacement():
    family = GridNaviFamily()
    tasks = family.sample_tasks(21, np.random.default_rng(0))
    assert sorted(map(tuple, tasks.tolist())) == sorted(map(tuple, family.goals.tolist()))
    with pytest.raises(ValueError, match="only 21 exist"):
        family.sample_tasks(22, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        family.sample_tasks(2, 0)


def test_random_start_never_on_the_goal_and_covers_the_grid():
    env = GridNaviEnv(task=[3.0, 3.0], random_start=True)
    starts = [tuple(env.reset(seed=0 if i == 0 else None)[0].astype(int)) for i in range(400)]
    assert (3, 3) not in starts and len(set(starts)) == 24


def test_bad_actions_are_rejected():
    env = GridNaviEnv(task=[2.0, 2.0])
    env.reset(seed=0)
    for bad in (5, -1, 0.5, [1, 2]):
        with pytest.raises(ValueError, match="expected an int 0..4"):
            env.step(bad)


def test_cell_index_matches_the_original_task_to_id():
    cells = np.array([[0, 0], [1, 0], [0, 1], [4, 4], [2, 3]], dtype=np.float64)
    assert GridNaviFamily.cell_index(cells).tolist() == [0, 1, 5, 24, 17]
    assert GridNaviFamily.cell_index(torch.tensor(cells)).tolist() == [0, 1, 5, 24, 17]
    assert GridNaviFamily.cell_of_index(np.arange(25)).tolist() == [[i % 5, i // 5] for i in range(25)]
    assert torch.equal(GridNaviFamily.cell_of_index(torch.tensor([17])), torch.tensor([[2.0, 3.0]]))
