"""Cross-validation folds of a finite task set: hold out every goal exactly once across the folds.

With 21 grid goals, one draw of 5 held-out goals measures a success rate in steps of 0.2, and which 5 cells are drawn
moves it more than the method does. Splitting the goals into folds and training once per fold evaluates every goal
as a held-out task, so a seed's estimate rests on all of them.
"""

from __future__ import annotations

import numpy as np


def goal_folds(goals: np.ndarray, num_folds: int, seed: int) -> list[np.ndarray]:
    """``goals`` (N, D) split into ``num_folds`` disjoint folds of near-equal size (sizes differ by at most one), in
    a random order drawn from ``seed``; together the folds are ``goals``."""
    goals = np.asarray(goals)
    return [goals[part] for part in _fold_indices(goals, num_folds, seed)]


def split_fold(goals: np.ndarray, fold: int, num_folds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training goals, held-out goals) of fold ``fold`` (0-based) of :func:`goal_folds`; both keep ``goals``'
    order."""
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or not 0 <= fold < num_folds:
        raise ValueError(f"split_fold: fold must be an int in [0, {num_folds - 1}]; got {fold!r}")
    goals = np.asarray(goals)
    held_out = np.zeros(len(goals), dtype=bool)
    held_out[_fold_indices(goals, num_folds, seed)[fold]] = True
    return goals[~held_out], goals[held_out]


def _fold_indices(goals: np.ndarray, num_folds: int, seed: int) -> list[np.ndarray]:
    """Each fold's row indices into ``goals``, ascending."""
    if goals.ndim != 2 or len(goals) == 0:
        raise ValueError(f"goal_folds: goals must be a non-empty (N, D) array; got shape {goals.shape}")
    if isinstance(num_folds, bool) or not isinstance(num_folds, (int, np.integer)) or not 2 <= num_folds <= len(goals):
        raise ValueError(f"goal_folds: num_folds must be an int in [2, {len(goals)}] (the number of goals); "
                         f"got {num_folds!r}")
    order = np.random.default_rng(seed).permutation(len(goals))
    return [np.sort(part) for part in np.array_split(order, int(num_folds))]


def goals_in(tasks: np.ndarray, goals: np.ndarray, atol: float = 1e-6) -> np.ndarray:
    """Boolean (N,): is row i of ``tasks`` (N, D) one of ``goals`` (M, D)?"""
    tasks, goals = np.asarray(tasks, dtype=np.float64), np.asarray(goals, dtype=np.float64)
    if len(goals) == 0 or len(tasks) == 0:
        return np.zeros(len(tasks), dtype=bool)
    tasks, goals = tasks.reshape(len(tasks), -1), goals.reshape(len(goals), -1)
    return (np.abs(tasks[:, None] - goals[None]).max(-1) < atol).any(1)
