"""A sum tree (with a parallel min tree) in plain torch, for prioritized replay.

Why torch and not TorchRL's segment trees: those live in TorchRL's C++ extension, which does not load on every
install (it does not with torch 2.13 here). This tree is a pair of flat tensors, so it runs wherever torch runs,
moves with ``.to(device)`` and is saved with ``torch.save``.

Layout: the nodes of all levels sit in one flat tensor, root first, leaves last. Every node has ``branching``
children, stored next to each other in the level below, so "the children of node ``i``" is row ``i`` of that level
viewed as ``(-1, branching)``. Each level is padded to a multiple of ``branching`` (not to a full power), so the
memory overhead is at most ``branching`` nodes per level. Leaves past ``capacity`` and leaves never written are
*empty*: they add 0 to every sum and +inf to every min, so they are never found and never lower :meth:`min`.

Speed: every operation is a fixed number of batched tensor ops per level, with no Python loop over items and no
host synchronisation (except the index range check in :meth:`update`). On a CPU the cost of a batch of 256 is
dominated by per-op overhead, so fewer, wider levels win: the default ``branching=16`` walks 5 levels for 1M
leaves instead of a binary tree's 20 (``branching=2`` gives the classic binary tree).

Precision: the default dtype is float64. A parent is always recomputed from its children (never nudged by a delta),
so no error accumulates across updates; what float64 buys is resolution. With 1M leaves the root is ~1e6 times an
average leaf, and float32 (24-bit mantissa) then resolves prefix sums only to ~0.1 of an average leaf, so small
priorities would be drawn with visibly wrong frequencies. float64 keeps that error below 1e-9 of a leaf.
"""

from __future__ import annotations

import torch


class SumTree:
    """Leaf values with batched O(log n) update, prefix-sum search, total and min.

    Args:
        capacity: number of leaves that can hold a value (indices ``0 .. capacity - 1``).
        dtype: floating dtype of the stored values and of every sum (float64 recommended, see module doc).
        device: where the tree lives.
        branching: children per node (>= 2); see the module doc for why the default is 16.

    Example:
        >>> tree = SumTree(4)
        >>> tree.update(torch.tensor([0, 1, 3]), torch.tensor([1.0, 2.0, 3.0]))
        >>> tree.total().item(), tree.min().item()
        (6.0, 1.0)
        >>> tree.find(torch.tensor([0.5, 1.0, 2.9, 3.0])).tolist()  # leaf i owns [cumsum[i-1], cumsum[i])
        [0, 1, 1, 3]
    """

    def __init__(
        self,
        capacity: int,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        branching: int = 16,
    ):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"SumTree capacity must be a positive int, got {capacity!r}")
        if isinstance(branching, bool) or not isinstance(branching, int) or branching < 2:
            raise ValueError(f"SumTree branching must be an int >= 2, got {branching!r}")
        if not dtype.is_floating_point:
            raise ValueError(f"SumTree dtype must be a floating-point dtype, got {dtype}")
        self._capacity = capacity
        self._branching = branching
        self._sizes = _level_sizes(capacity, branching)  # root (1 node) first, leaves last
        self._sum = torch.zeros(sum(self._sizes), dtype=dtype, device=device)
        self._min = torch.full((sum(self._sizes),), float("inf"), dtype=dtype, device=device)
        self._make_views()

    # ------------------------------------------------------------------ properties
    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def branching(self) -> int:
        return self._branching

    @property
    def depth(self) -> int:
        """Number of levels below the root (the number of steps of :meth:`find`)."""
        return len(self._sizes) - 1

    @property
    def dtype(self) -> torch.dtype:
        return self._sum.dtype

    @property
    def device(self) -> torch.device:
        return self._sum.device

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity={self._capacity}, branching={self._branching}, depth={self.depth}, "
            f"dtype={self.dtype}, device={self.device})"
        )

    # ------------------------------------------------------------------ reads
    def total(self) -> torch.Tensor:
        """Sum of all leaves (a 0-dim tensor; 0 for an empty tree)."""
        return self._sum[0]

    def min(self) -> torch.Tensor:
        """Smallest written leaf (a 0-dim tensor; +inf for an empty tree)."""
        return self._min[0]

    def leaves(self) -> torch.Tensor:
        """A view of the ``capacity`` leaf values (empty leaves read 0); do not write to it."""
        return self._sum_levels[-1][: self._capacity]

    def written(self) -> torch.Tensor:
        """Boolean mask of the leaves that hold a value."""
        return torch.isfinite(self._min_levels[-1][: self._capacity])

    def __getitem__(self, indices: torch.Tensor) -> torch.Tensor:
        """Leaf values at ``indices`` (empty leaves read 0)."""
        indices = torch.as_tensor(indices, dtype=torch.long, device=self.device)
        return self._sum_levels[-1][indices]

    def find(self, prefix_sums: torch.Tensor) -> torch.Tensor:
        """For each value ``m``, the leaf ``i`` with ``cumsum[i-1] <= m < cumsum[i]`` (a batched tree descent).

        Values are expected in ``[0, total())`` and the tree to be non-empty. The descent never enters a subtree
        whose sum is 0, so the returned leaf always holds a positive value even when rounding puts a value on a
        boundary (a value ``>= total()`` gives the last positive leaf; a negative one is read as 0).
        """
        prefix_sums = torch.as_tensor(prefix_sums, device=self.device)
        mass = prefix_sums.to(self.dtype).clamp_min(0).reshape(-1, 1)
        node = torch.zeros(mass.shape[0], dtype=torch.long, device=self.device)
        for level in self._sum_levels[1:]:
            children = level.view(-1, self._branching).index_select(0, node)
            running = children.cumsum(1)
            # first child whose running sum passes the mass ...
            child = torch.searchsorted(running, mass, right=True)
            # ... but never past the last child with a positive sum (rounding can push the mass to the very end)
            last_positive = torch.searchsorted(running, running[:, -1:].contiguous())
            child = torch.minimum(child, last_positive)
            mass = mass - (running - children).gather(1, child)
            node = node * self._branching + child.squeeze(1)
        return node.reshape(prefix_sums.shape)

    # ------------------------------------------------------------------ writes
    def update(self, indices: torch.Tensor, values: torch.Tensor | float, *, checked: bool = False) -> None:
        """Set leaves ``indices`` to ``values`` (a scalar or one value per index), then refresh their ancestors.

        Duplicate indices are resolved deterministically: the last occurrence wins, as in a sequential loop.
        Raises IndexError for an index outside ``[0, capacity)`` (one host sync). ``checked=True`` skips both
        steps, for callers that already checked the range and ran :func:`last_write_wins`.
        """
        indices = torch.as_tensor(indices, dtype=torch.long, device=self.device).reshape(-1)
        values = torch.as_tensor(values, device=self.device).to(self.dtype)
        if values.numel() == 1:
            values = values.reshape(1).expand(indices.shape)
        values = values.reshape(-1)
        if values.shape != indices.shape:
            raise ValueError(
                f"SumTree.update: got {indices.numel()} indices but {values.numel()} values; expected one value "
                "per index or a single value"
            )
        if indices.numel() == 0:
            return
        if not checked:
            self._check_indices(indices, "update")
            indices, values = last_write_wins(indices, values)
        self._sum_levels[-1].index_copy_(0, indices, values)
        self._min_levels[-1].index_copy_(0, indices, values)
        self._refresh_ancestors(indices)

    def clear(self, indices: torch.Tensor | None = None) -> None:
        """Empty the given leaves (all of them when ``indices`` is None)."""
        if indices is None:
            self._sum.zero_()
            self._min.fill_(float("inf"))
            return
        indices = torch.as_tensor(indices, dtype=torch.long, device=self.device).reshape(-1)
        if indices.numel() == 0:
            return
        self._check_indices(indices, "clear")
        self._sum_levels[-1].index_fill_(0, indices, 0.0)
        self._min_levels[-1].index_fill_(0, indices, float("inf"))
        self._refresh_ancestors(indices)

    def rebuild(self, values: torch.Tensor, written: torch.Tensor) -> None:
        """Replace every leaf at once (``values[i]`` where ``written[i]``, empty elsewhere) in O(capacity).

        Much cheaper than :meth:`update` with all indices: each level is one reshape-and-reduce.
        """
        if tuple(values.shape) != (self._capacity,) or tuple(written.shape) != (self._capacity,):
            raise ValueError(
                f"SumTree.rebuild: values {tuple(values.shape)} and written {tuple(written.shape)} must both have "
                f"shape ({self._capacity},)"
            )
        values = values.to(device=self.device, dtype=self.dtype)
        written = written.to(device=self.device, dtype=torch.bool)
        self.clear()
        self._sum_levels[-1][: self._capacity] = torch.where(written, values, torch.zeros_like(values))
        self._min_levels[-1][: self._capacity] = torch.where(written, values, torch.full_like(values, float("inf")))
        for depth in range(len(self._sizes) - 1, 0, -1):
            below_sum = self._sum_levels[depth].view(-1, self._branching)
            below_min = self._min_levels[depth].view(-1, self._branching)
            self._sum_levels[depth - 1][: below_sum.shape[0]] = below_sum.sum(1)
            self._min_levels[depth - 1][: below_min.shape[0]] = below_min.amin(1)

    def to(self, device: torch.device | str) -> SumTree:
        """Move the tree (in place) and return it."""
        self._sum = self._sum.to(device)
        self._min = self._min.to(device)
        self._make_views()
        return self

    # ------------------------------------------------------------------ internals
    def _make_views(self) -> None:
        self._sum_levels = list(torch.split(self._sum, self._sizes))
        self._min_levels = list(torch.split(self._min, self._sizes))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_sum_levels"], state["_min_levels"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    def _check_indices(self, indices: torch.Tensor, method: str) -> None:
        # A negative or too-large index would otherwise silently write a padding leaf.
        bad = (indices < 0) | (indices >= self._capacity)
        if bool(bad.any()):
            value = int(indices[bad][0])
            raise IndexError(f"SumTree.{method}: leaf index {value} is out of range [0, {self._capacity})")

    def _refresh_ancestors(self, nodes: torch.Tensor) -> None:
        # Siblings and repeated parents write identical values, so duplicate parents are harmless.
        for depth in range(len(self._sizes) - 1, 0, -1):
            nodes = torch.div(nodes, self._branching, rounding_mode="floor")
            below_sum = self._sum_levels[depth].view(-1, self._branching).index_select(0, nodes)
            below_min = self._min_levels[depth].view(-1, self._branching).index_select(0, nodes)
            self._sum_levels[depth - 1].index_copy_(0, nodes, below_sum.sum(1))
            self._min_levels[depth - 1].index_copy_(0, nodes, below_min.amin(1))


def _level_sizes(capacity: int, branching: int) -> list[int]:
    """Node counts per level, root first: each level below the root is padded to a multiple of ``branching``."""
    sizes = []
    nodes = capacity
    while True:
        padded = -(-nodes // branching) * branching
        sizes.append(padded)
        nodes = padded // branching
        if nodes == 1:
            sizes.append(1)
            return sizes[::-1]


def last_write_wins(indices: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep only the last occurrence of each index, with its value (1-D inputs of equal length).

    ``index_copy_`` / ``index_put_`` leave the winner among duplicate indices undefined; this makes it the last.
    """
    if indices.numel() < 2:
        return indices, values
    unique, inverse = torch.unique(indices, return_inverse=True)
    if unique.numel() == indices.numel():
        return indices, values
    position = torch.arange(indices.numel(), device=indices.device)
    last = torch.full(unique.shape, -1, dtype=torch.long, device=indices.device)
    last.scatter_reduce_(0, inverse, position, reduce="amax")
    return unique, values[last]
