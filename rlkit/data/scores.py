"""D4RL-normalised scores: ``100 * (return - ref_min) / (ref_max - ref_min)`` with D4RL's published constants.

Papers report offline-RL results on this scale (0 = random policy, 100 = expert), so an evaluation of a policy trained
on ``hopper-medium-v2`` is comparable with published tables only through exactly these constants, which live in
``rlkit.data.d4rl_reference_scores``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TypeVar, overload

import numpy as np
import torch

from rlkit.data.d4rl_names import D4RL_FILE_BASENAMES
from rlkit.data.d4rl_reference_scores import D4RL_REFERENCE_SCORES, ReferenceScores

Returns = TypeVar("Returns", np.ndarray, torch.Tensor)


class UnknownReferenceScoresError(KeyError):
    """No D4RL reference scores exist for a name; the message suggests close matches.

    A ``KeyError`` (the name is a failed table lookup) whose ``str`` is the plain message, not its repr.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def reference_scores(name: str) -> ReferenceScores:
    """D4RL's ``(ref_min, ref_max)`` returns for dataset ``name``; raises ``UnknownReferenceScoresError``."""
    scores = D4RL_REFERENCE_SCORES.get(name)
    if scores is not None:
        return scores
    if name in D4RL_FILE_BASENAMES:
        raise UnknownReferenceScoresError(
            f"D4RL publishes no reference scores for {name!r}, so its returns cannot be normalised"
        )
    close = difflib.get_close_matches(str(name), list(D4RL_REFERENCE_SCORES), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownReferenceScoresError(
        f"no D4RL reference scores for {name!r}{hint} "
        f"(the {len(D4RL_REFERENCE_SCORES)} known names are in rlkit.data.d4rl_reference_scores)"
    )


@overload
def normalized_score(name: str, returns: float) -> float: ...
@overload
def normalized_score(name: str, returns: Sequence[float]) -> list: ...
@overload
def normalized_score(name: str, returns: Returns) -> Returns: ...


def normalized_score(name, returns):
    """D4RL-normalised score of undiscounted episode ``returns`` for dataset ``name`` (100 = expert, 0 = random).

    Returns the kind it is given: a float for a number, a list for a list or tuple, a float ndarray for an ndarray
    (float64 for integer input), and a floating tensor on the same device for a tensor (the default dtype for integer
    input). Raises ``UnknownReferenceScoresError`` (a ``KeyError``) for a name without published constants.

    >>> round(normalized_score("hopper-medium-v2", 3234.3), 6)
    100.0
    """
    ref_min, ref_max = reference_scores(name)
    span = ref_max - ref_min
    if isinstance(returns, torch.Tensor):
        if returns.dtype == torch.bool or returns.is_complex():
            raise TypeError(f"returns must be real numbers; got a tensor of dtype {returns.dtype}")
        if not returns.is_floating_point():
            returns = returns.to(torch.get_default_dtype())
        return 100.0 * (returns - ref_min) / span
    if isinstance(returns, (bool, np.bool_)):
        raise TypeError(f"returns must be numbers; got the boolean {returns!r}")
    if isinstance(returns, (int, float)):
        return 100.0 * (float(returns) - ref_min) / span
    if isinstance(returns, (np.generic, np.ndarray)):
        _check_numeric(np.asarray(returns), returns)
        if returns.dtype.kind != "f":
            returns = returns.astype(np.float64)
        return 100.0 * (returns - ref_min) / span
    if isinstance(returns, (list, tuple)):
        array = np.asarray(returns)
        if array.size == 0:
            return []
        _check_numeric(array, returns)
        return (100.0 * (array.astype(np.float64) - ref_min) / span).tolist()
    raise TypeError(f"returns must be a float, a list, a numpy array or a torch tensor; got {type(returns).__name__}")


def _check_numeric(array: np.ndarray, original: object) -> None:
    if array.dtype.kind not in "fiu":
        raise TypeError(f"returns must be numbers; got {original!r} (dtype {array.dtype})")
