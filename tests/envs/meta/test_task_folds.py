"""Cross-validation folds of a finite goal set: a partition, near-equal, seeded, with clear errors."""

import numpy as np
import pytest

from rlkit.envs.meta.grid_navi import all_goal_cells
from rlkit.envs.meta.task_folds import goal_folds, goals_in, split_fold


def test_folds_partition_the_grid_goals_into_near_equal_parts():
    goals = all_goal_cells()
    folds = goal_folds(goals, 4, seed=3)
    assert sorted(len(f) for f in folds) == [5, 5, 5, 6]  # 21 = 6 + 5 + 5 + 5
    stacked = np.concatenate(folds)
    assert len({tuple(g) for g in stacked}) == 21 == len(stacked)  # disjoint, and together every goal
    assert goals_in(goals, stacked).all()


def test_folds_are_drawn_from_the_seed():
    goals = all_goal_cells()
    same = [np.array_equal(a, b) for a, b in zip(goal_folds(goals, 4, 0), goal_folds(goals, 4, 0))]
    assert all(same)
    assert not all(np.array_equal(a, b) for a, b in zip(goal_folds(goals, 4, 0), goal_folds(goals, 4, 1)))


def test_split_fold_returns_the_rest_and_the_fold_in_the_goals_order():
    goals = np.arange(10, dtype=np.float64).reshape(5, 2)  # rows (0,1), (2,3), ..., (8,9)
    folds = goal_folds(goals, 2, seed=0)
    train, held_out = split_fold(goals, 1, 2, seed=0)
    np.testing.assert_array_equal(held_out, folds[1])
    np.testing.assert_array_equal(train, folds[0])
    for part in (train, held_out):  # each keeps the goals' order
        assert (np.diff(part[:, 0]) > 0).all()


def test_goals_in_matches_rows_up_to_tolerance():
    tasks = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0 + 1e-9]])
    np.testing.assert_array_equal(goals_in(tasks, np.array([[1.0, 2.0]])), [True, False, True])
    np.testing.assert_array_equal(goals_in(tasks, np.zeros((0, 2))), [False, False, False])


@pytest.mark.parametrize("num_folds", [1, 22, 2.0, True])
def test_bad_fold_counts_are_rejected(num_folds):
    with pytest.raises(ValueError, match="num_folds must be an int in \\[2, 21\\]"):
        goal_folds(all_goal_cells(), num_folds, 0)


def test_bad_fold_index_and_goals_are_rejected():
    with pytest.raises(ValueError, match="fold must be an int in \\[0, 3\\]; got 4"):
        split_fold(all_goal_cells(), 4, 4, 0)
    with pytest.raises(ValueError, match="non-empty \\(N, D\\) array"):
        goal_folds(np.zeros(5), 2, 0)
