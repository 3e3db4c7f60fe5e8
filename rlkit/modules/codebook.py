"""A goal codebook: K representative goals of a dataset, and the nearest code of any goal (PTGM's discrete goals).

PTGM turns "which goal next" into a K-way choice: the high-level policy picks a code, the frozen low-level policy
reaches the goal it stands for. ``GoalCodebook.fit`` finds the K codes by k-means (k-means++ seeding, then Lloyd
iterations), all in torch and vectorised; distances are computed in chunks so that millions of goals fit in memory.

Clustering and assignment happen in one *standardised* goal space (per-dimension mean and std of the fitted goals),
so that a dimension measured in large units (a joint angle vs a door hinge) does not dominate. The original instead
clusters a 2-D t-SNE embedding and labels by raw cosine similarity, two different spaces; see docs/deviations_ptgm.md.

Everything the codebook knows lives in buffers (``codes``, ``mean``, ``std``, ...), so ``state_dict``, ``.to(device)``
and :meth:`save` / :meth:`load` carry it. Subclasses may override :meth:`fit` and :meth:`assign`.

Example:
    >>> book = GoalCodebook(goal_dim=2)
    >>> book.fit(torch.randn(1000, 2), num_codes=8, seed=0)  # doctest: +ELLIPSIS
    GoalCodebook(...)
    >>> book.assign(torch.zeros(5, 2)).shape
    torch.Size([5])
"""

from __future__ import annotations

import os
from typing import Literal

import torch
from torch import nn

from rlkit.utils.atomic import atomic_path

Metric = Literal["euclidean", "cosine"]
METRICS: tuple[str, ...] = ("euclidean", "cosine")
_FORMAT = "rlkit.GoalCodebook"
_VERSION = 1


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"GoalCodebook: metric={metric!r}; expected one of {METRICS}")


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class GoalCodebook(nn.Module):
    """K goal codes of dimension ``goal_dim``, fitted by k-means in a standardised goal space.

    Args:
        goal_dim: size of a goal vector.
        num_codes: K (``fit`` may change it; the buffers are resized).
        metric: "euclidean" (k-means) or "cosine" (spherical k-means: directions of standardised goals).
        chunk_size: rows of goals per block of the distance computation (memory ~ chunk_size * K floats).

    Buffers: ``codes`` (K, g) raw goal units; ``standardized_codes`` (K, g); ``mean``, ``std`` (g,) of the fitted
    goals (0 and 1 when fitted with ``standardize=False``); ``metric_id``; ``fitted``.
    """

    def __init__(self, goal_dim: int, num_codes: int = 50, *, metric: Metric = "euclidean",
                 chunk_size: int = 65536) -> None:
        super().__init__()
        for name, value in (("goal_dim", goal_dim), ("num_codes", num_codes), ("chunk_size", chunk_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GoalCodebook: {name} must be a positive int; got {value!r}")
        _check_metric(metric)
        self.goal_dim = goal_dim
        self.chunk_size = chunk_size
        self.register_buffer("codes", torch.zeros(num_codes, goal_dim))
        self.register_buffer("standardized_codes", torch.zeros(num_codes, goal_dim))
        self.register_buffer("mean", torch.zeros(goal_dim))
        self.register_buffer("std", torch.ones(goal_dim))
        self.register_buffer("metric_id", torch.tensor(METRICS.index(metric)))
        self.register_buffer("fitted", torch.tensor(False))

    # ----------------------------------------------------------------------------------------------- properties
    @property
    def num_codes(self) -> int:
        return self.codes.shape[0]

    @property
    def metric(self) -> str:
        return METRICS[int(self.metric_id)]

    def extra_repr(self) -> str:
        fitted = bool(self.fitted)
        return f"goal_dim={self.goal_dim}, num_codes={self.num_codes}, metric={self.metric!r}, fitted={fitted}"

    # ----------------------------------------------------------------------------------------------- fitting
    def fit(
        self,
        goals: torch.Tensor,
        num_codes: int | None = None,
        *,
        seed: int = 0,
        metric: Metric | None = None,
        real_points: bool = True,
        standardize: bool = True,
        max_iters: int = 300,
        tol: float = 1e-4,
    ) -> GoalCodebook:
        """Fit the codes to ``goals`` (N, g) and return ``self``.

        k-means++ seeding (``seed`` makes it reproducible), then Lloyd iterations until the centre shift (squared,
        summed) falls below ``tol`` times the mean per-dimension variance, or ``max_iters``. A cluster that empties
        is re-seeded at the goal farthest from its centre. ``real_points=True`` replaces each centre by its
        nearest member goal (codes are goals that really occurred, as in the original; members of different
        clusters differ, so codes stay distinct). ``standardize=False`` clusters raw goals.
        """
        goals = self._check_goals(goals, "fit")
        num_codes = self.num_codes if num_codes is None else num_codes
        if isinstance(num_codes, bool) or not isinstance(num_codes, int) or num_codes < 1:
            raise ValueError(f"GoalCodebook.fit: num_codes must be a positive int; got {num_codes!r}")
        if goals.shape[0] < num_codes:
            raise ValueError(f"GoalCodebook.fit: got {goals.shape[0]} goals for {num_codes} codes; "
                             "expected at least as many goals as codes")
        if max_iters < 0 or tol < 0:
            raise ValueError(f"GoalCodebook.fit: max_iters and tol must be >= 0; got {max_iters}, {tol}")
        metric = self.metric if metric is None else metric
        _check_metric(metric)
        goals = goals.to(self.codes.device, torch.float32)

        if standardize:
            mean = goals.mean(0)
            std = goals.std(0, correction=0)
            std = torch.where(std > 1e-8, std, torch.ones_like(std))  # constant dimensions: leave them unscaled
        else:
            mean, std = torch.zeros_like(goals[0]), torch.ones_like(goals[0])
        points = (goals - mean) / std
        space = _unit(points) if metric == "cosine" else points

        generator = torch.Generator(device=points.device).manual_seed(seed)
        centres = self._kmeans_plus_plus(space, num_codes, generator, metric)
        centres, labels = self._lloyd(space, centres, metric, max_iters, tol)
        raw_codes = None
        if real_points:
            rows = self._nearest_members(space, centres, labels, metric)
            centres_std, raw_codes = points[rows], goals[rows].clone()  # exact data rows, no round-off
        elif metric == "cosine":  # a direction, scaled to the members' mean norm so that it is a plausible goal
            norms = torch.zeros(num_codes, device=points.device).index_add_(0, labels, points.norm(dim=1))
            counts = torch.bincount(labels, minlength=num_codes).clamp_min(1)
            centres_std = centres * (norms / counts).unsqueeze(1)
        else:
            centres_std = centres

        self.codes = centres_std * std + mean if raw_codes is None else raw_codes
        self.standardized_codes = centres_std.clone()
        self.mean, self.std = mean, std
        self.metric_id = torch.tensor(METRICS.index(metric), device=self.codes.device)
        self.fitted = torch.tensor(True, device=self.codes.device)
        return self

    def _kmeans_plus_plus(self, space: torch.Tensor, k: int, generator: torch.Generator, metric: str) -> torch.Tensor:
        """k-means++ seeding: each next centre is a goal drawn with probability proportional to D(x)^2."""
        n = space.shape[0]
        chosen = torch.empty(k, dtype=torch.long, device=space.device)
        chosen[0] = torch.randint(n, (1,), generator=generator, device=space.device)
        closest = self._distances(space, space[chosen[:1]], metric).squeeze(1)
        for i in range(1, k):
            total = closest.sum()
            if not bool(total > 0):
                raise ValueError(f"GoalCodebook.fit: the goals hold only {i} distinct points (under the "
                                 f"{metric} metric after standardising); expected at least {k} for {k} codes")
            chosen[i] = torch.multinomial(closest / total, 1, generator=generator)
            closest = torch.minimum(closest, self._distances(space, space[chosen[i : i + 1]], metric).squeeze(1))
        return space[chosen].clone()

    def _lloyd(self, space: torch.Tensor, centres: torch.Tensor, metric: str, max_iters: int, tol: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Lloyd iterations from ``centres``; returns the final centres (k, g) and their nearest-centre labels (N,).

        On return every cluster has at least one member and ``labels`` is the assignment to the returned centres.
        """
        k = centres.shape[0]
        threshold = tol * float(space.var(0, correction=0).mean()) if metric == "euclidean" else tol
        labels, distances = self._nearest(space, centres, metric)
        for _ in range(max_iters):
            new = self._centres_of(space, labels, k, metric, distances)
            shift = float(((new - centres) ** 2).sum())
            centres = new
            labels, distances = self._nearest(space, centres, metric)
            if shift <= threshold:
                break
        for _ in range(k):  # clusters emptied by the last assignment: re-seed them until none is empty
            if bool((torch.bincount(labels, minlength=k) > 0).all()):
                return centres, labels
            centres = self._centres_of(space, labels, k, metric, distances)
            labels, distances = self._nearest(space, centres, metric)
        raise ValueError(f"GoalCodebook.fit: could not give each of the {k} codes a member goal; "
                         "the goals hold too few distinct points for this many codes")

    def _centres_of(self, space: torch.Tensor, labels: torch.Tensor, k: int, metric: str, distances: torch.Tensor
                    ) -> torch.Tensor:
        """Mean of each cluster (normalised for cosine); an empty cluster takes the worst-fitted goal."""
        sums = torch.zeros(k, space.shape[1], device=space.device).index_add_(0, labels, space)
        counts = torch.bincount(labels, minlength=k)
        empty = (counts == 0).nonzero().squeeze(1)
        if empty.numel():
            far = distances.topk(empty.numel()).indices
            sums[empty] = space[far]
            counts[empty] = 1
        centres = sums / counts.unsqueeze(1)
        return _unit(centres) if metric == "cosine" else centres

    def _nearest_members(self, space: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor, metric: str
                         ) -> torch.Tensor:
        """Row index of the member goal nearest each centre (k,)."""
        k = centres.shape[0]
        own = self._pointwise(space, centres[labels], metric)
        best = torch.full((k,), float("inf"), device=space.device).scatter_reduce(0, labels, own, "amin")
        is_best = own == best[labels]
        rows = torch.arange(space.shape[0], device=space.device)
        sentinel = space.shape[0]
        return torch.full((k,), sentinel, device=space.device).scatter_reduce(
            0, labels, torch.where(is_best, rows, sentinel), "amin")

    # ----------------------------------------------------------------------------------------------- distances
    @staticmethod
    def _distances(points: torch.Tensor, centres: torch.Tensor, metric: str) -> torch.Tensor:
        """(n, k) squared Euclidean distances, or cosine distances 1 - cos for unit rows."""
        if metric == "cosine":
            return (1.0 - points @ centres.T).clamp_min(0.0)
        return ((points * points).sum(1, keepdim=True) - 2.0 * points @ centres.T
                + (centres * centres).sum(1)).clamp_min(0.0)

    @staticmethod
    def _pointwise(points: torch.Tensor, centres: torch.Tensor, metric: str) -> torch.Tensor:
        if metric == "cosine":
            return 1.0 - (points * centres).sum(1)
        return ((points - centres) ** 2).sum(1)

    def _nearest(self, space: torch.Tensor, centres: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest centre (N,) and its distance (N,), in chunks of ``chunk_size`` rows."""
        labels = torch.empty(space.shape[0], dtype=torch.long, device=space.device)
        distances = torch.empty(space.shape[0], device=space.device)
        for start in range(0, space.shape[0], self.chunk_size):
            block = self._distances(space[start : start + self.chunk_size], centres, metric)
            distances[start : start + block.shape[0]], labels[start : start + block.shape[0]] = block.min(1)
        return labels, distances

    # ----------------------------------------------------------------------------------------------- assignment
    def standardize(self, goals: torch.Tensor) -> torch.Tensor:
        """Goals in the codebook's standardised space."""
        return (goals - self.mean) / self.std

    def assign(self, goals: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code of each goal: (..., g) -> (...) int64, under the codebook's metric."""
        if not bool(self.fitted):
            raise RuntimeError("GoalCodebook.assign: the codebook is not fitted; call fit() or load() first")
        goals = self._check_goals(goals, "assign", flat=False)
        lead = goals.shape[:-1]
        space = self.standardize(goals.reshape(-1, self.goal_dim).to(self.codes))
        centres = self.standardized_codes
        if self.metric == "cosine":
            space, centres = _unit(space), _unit(centres)
        labels, _ = self._nearest(space, centres, self.metric)
        return labels.reshape(lead)

    def _check_goals(self, goals: torch.Tensor, where: str, flat: bool = True) -> torch.Tensor:
        goals = torch.as_tensor(goals)
        if (flat and goals.ndim != 2) or goals.ndim < 1 or goals.shape[-1] != self.goal_dim:
            expected = f"(N, {self.goal_dim})" if flat else f"(..., {self.goal_dim})"
            raise ValueError(f"GoalCodebook.{where}: goals have shape {tuple(goals.shape)}; expected {expected}")
        if not goals.is_floating_point():
            goals = goals.float()
        if not bool(torch.isfinite(goals).all()):
            row = int((~torch.isfinite(goals)).reshape(-1, self.goal_dim).any(1).nonzero()[0, 0])
            raise ValueError(f"GoalCodebook.{where}: goal row {row} is not finite")
        return goals

    # ----------------------------------------------------------------------------------------------- persistence
    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Resize the code buffers to the stored K (so a state_dict of any size loads); the goal dim must match."""
        stored = state_dict.get(prefix + "codes")
        if stored is not None:
            if stored.ndim != 2 or stored.shape[1] != self.goal_dim:
                raise ValueError(f"GoalCodebook: stored codes have shape {tuple(stored.shape)}; "
                                 f"expected (K, {self.goal_dim}) for goal_dim={self.goal_dim}")
            if stored.shape[0] != self.num_codes:
                self.codes = torch.zeros_like(stored, device=self.codes.device)
                self.standardized_codes = torch.zeros_like(stored, device=self.codes.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def save(self, path: str | os.PathLike) -> None:
        """Write the codebook to ``path`` (torch format) atomically."""
        payload = {"format": _FORMAT, "version": _VERSION, "goal_dim": self.goal_dim,
                   "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}
        with atomic_path(path) as temporary:
            torch.save(payload, temporary)

    @classmethod
    def load(cls, path: str | os.PathLike, goal_dim: int | None = None, **kwargs) -> GoalCodebook:
        """Read a codebook written by :meth:`save`; ``goal_dim`` (optional) is checked against the file."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"GoalCodebook.load: no file at {os.fspath(path)!r}")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
            message = f"GoalCodebook.load: {os.fspath(path)!r} is not a readable codebook file ({exc})"
            raise ValueError(message) from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"GoalCodebook.load: {os.fspath(path)!r} is not a {_FORMAT} file")
        stored_dim = int(payload["goal_dim"])
        if goal_dim is not None and goal_dim != stored_dim:
            raise ValueError(f"GoalCodebook.load: {os.fspath(path)!r} holds goals of dim {stored_dim}; "
                             f"expected goal_dim={goal_dim}")
        state = payload["state_dict"]
        book = cls(stored_dim, state["codes"].shape[0], metric=METRICS[int(state["metric_id"])], **kwargs)
        book.load_state_dict(state)
        return book
