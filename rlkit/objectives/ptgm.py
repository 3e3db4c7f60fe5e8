"""PTGM pretraining: goal windows from trajectories, the goal-prior cross-entropy and the low-level NLL.

Goal windows (the original's sampling, vectorised): an episode of T > k steps is drawn (uniformly, as the
original, or in proportion to its length), a goal step g uniformly from [k, T), and each of the k steps
before it, g-k .. g-1, becomes a training pair (s_t, a_t) with goal s_g (cut to ``goal_dims``). With k the
high-level interval (10 in the original), the low level learns to reach any state up to k steps ahead, and the
prior learns which goal code the data reaches next.

Losses (TorchRL-style, a TensorDict of ``loss_*`` terms; keys changeable with ``set_keys``):

* :class:`GoalPriorLoss`: ``CE(prior(s), label(g))`` with label = the nearest code of the goal, either by raw
  cosine similarity (``label_metric="cosine"``, the original) or by the codebook's own metric and standardised
  space (``"codebook"``).
* :class:`LowLevelNLLLoss`: ``-log pi(a | s, g)``.

Example:
    >>> table = episode_table_of(data, source="kitchen-mixed-v0")
    >>> batch = sample_goal_windows(data, table, 128, horizon=10, goal_dims=KITCHEN_GOAL_DIMS)
    >>> GoalPriorLoss(prior, codebook)(batch)["loss_goal_prior"].backward()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn
from torchrl.objectives import LossModule

from rlkit.data.episode_index import EpisodeTable, EpisodeWeighting, check_weighting
from rlkit.data.errors import DatasetError
from rlkit.data.keys import ACTION, OBS
from rlkit.modules.codebook import GoalCodebook
from rlkit.objectives.dt_supervised import read_key

GOAL = "goal"
"""Default key of the goal of each window step: float (B, k, g)."""
GOAL_DISTANCE = "goal_distance"
"""Default key of the number of steps from each window step to its goal: int64 (B, k), k .. 1."""
LABEL_METRICS: tuple[str, ...] = ("cosine", "codebook")
_RANDINT_HIGH = 2**62  # uniform integers reduced modulo an episode's window count: bias <= count / 2**62


def goal_window_rows(
    table: EpisodeTable,
    batch_size: int,
    horizon: int = 10,
    *,
    episode_weighting: EpisodeWeighting = "uniform",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ``batch_size`` goal windows: state rows (B, horizon), g-horizon .. g-1, and goal rows g (B,).

    g lies at a position >= ``horizon`` of its episode. ``episode_weighting="uniform"`` (the original): the episode
    is uniform over the episodes longer than ``horizon``, then g uniform within it; ``"length"``: g uniform over
    all such rows (long episodes give proportionally more windows). O(B log E) tensor work, no loop.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"goal_window_rows: horizon must be a positive int; got {horizon!r}")
    check_weighting(episode_weighting)
    eligible = (table.lengths - horizon).clamp_min(0)
    if not bool((eligible > 0).any()):
        raise DatasetError(f"goal_window_rows: no episode is longer than horizon={horizon} steps (the longest has "
                           f"{int(table.lengths.max())}); expected at least one with more than {horizon}")
    device = eligible.device
    if episode_weighting == "uniform":
        usable = (eligible > 0).nonzero().squeeze(1)
        episodes = usable[torch.randint(usable.numel(), (batch_size,), generator=generator, device=device)]
        offsets = torch.randint(_RANDINT_HIGH, (batch_size,), generator=generator, device=device) % eligible[episodes]
    else:
        ends = eligible.cumsum(0)
        draws = torch.randint(int(ends[-1]), (batch_size,), generator=generator, device=device)
        episodes = torch.searchsorted(ends, draws, right=True)
        offsets = draws - (ends[episodes] - eligible[episodes])
    goal_rows = table.starts[episodes] + horizon + offsets
    state_rows = goal_rows.unsqueeze(1) + torch.arange(-horizon, 0, device=device)
    return state_rows, goal_rows


def sample_goal_windows(
    data: TensorDictBase,
    table: EpisodeTable,
    batch_size: int,
    horizon: int = 10,
    *,
    goal_dims: Sequence[int] | None = None,
    episode_weighting: EpisodeWeighting = "uniform",
    generator: torch.Generator | None = None,
    observation_key: NestedKey = OBS,
    goal_key: NestedKey = GOAL,
    distance_key: NestedKey = GOAL_DISTANCE,
) -> TensorDictBase:
    """A (B, horizon) TensorDict of every key of ``data`` at the window rows, plus the goal and distance to it.

    ``goal = data[observation_key][g][..., goal_dims]`` (all dims when ``goal_dims`` is None), the same for every
    step of a window. ``table`` must be built from ``data`` (``episode_table_of(data, source=...)``).
    """
    if data.batch_dims != 1 or data.batch_size[0] != table.num_rows:
        raise ValueError(f"sample_goal_windows: data has batch size {tuple(data.batch_size)} but the episode table "
                         f"covers {table.num_rows} rows; rebuild the table from this data")
    observations = read_key(data, observation_key, "sample_goal_windows")
    dims = None
    if goal_dims is not None:
        dims = torch.as_tensor(list(goal_dims), dtype=torch.long, device=observations.device)
        bad = (dims < 0) | (dims >= observations.shape[-1])
        if dims.ndim != 1 or dims.numel() == 0 or bool(bad.any()):
            raise ValueError(f"sample_goal_windows: goal_dims={list(goal_dims)} must be a non-empty list of indices "
                             f"into {observation_key!r}, whose last dim is {observations.shape[-1]}")
    state_rows, goal_rows = goal_window_rows(table, batch_size, horizon, episode_weighting=episode_weighting,
                                             generator=generator)
    flat = state_rows.reshape(-1)
    shape = list(state_rows.shape)
    out = data.apply(lambda x: x.index_select(0, flat).unflatten(0, shape), batch_size=shape)
    goals = observations.index_select(0, goal_rows)
    if dims is not None:
        goals = goals.index_select(-1, dims)
    out.set(goal_key, goals.unsqueeze(1).expand(-1, horizon, *goals.shape[1:]).contiguous())
    out.set(distance_key, torch.arange(horizon, 0, -1, device=flat.device).expand(batch_size, horizon).contiguous())
    return out


class GoalPriorLoss(LossModule):
    """Cross-entropy of the goal prior's logits to the code label of each goal.

    Args:
        prior: ``prior(observation) -> logits (..., K)`` (a :class:`~rlkit.modules.goal_prior.GoalPrior`).
        codebook: the fitted :class:`~rlkit.modules.codebook.GoalCodebook` (frozen; its buffers only are read).
        label_metric: "cosine" = argmax of cosine similarity between the raw goal and the raw codes (the original);
            "codebook" = ``codebook.assign(goal)`` (its metric, in its standardised space).

    Output: ``loss_goal_prior`` and ``accuracy`` (detached, the share of argmax logits equal to the label).
    Override :meth:`labels` to label goals another way.
    """

    @dataclass
    class _AcceptedKeys:
        """Batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        goal: NestedKey = GOAL

    def __init__(self, prior: nn.Module, codebook: GoalCodebook, *, label_metric: str = "cosine") -> None:
        super().__init__()
        if label_metric not in LABEL_METRICS:
            raise ValueError(f"GoalPriorLoss: label_metric={label_metric!r}; expected one of {LABEL_METRICS}")
        if not bool(codebook.fitted):
            raise ValueError("GoalPriorLoss: the codebook is not fitted; fit or load it first")
        self.prior = prior
        self.codebook = codebook
        self.label_metric = label_metric

    @property
    def in_keys(self) -> list[NestedKey]:
        return [self.tensor_keys.observation, self.tensor_keys.goal]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_goal_prior", "accuracy"]

    @torch.no_grad()
    def labels(self, goals: torch.Tensor) -> torch.Tensor:
        """Code index of each goal (..., g) -> (...)."""
        if goals.shape[-1] != self.codebook.goal_dim:
            raise ValueError(f"GoalPriorLoss: goals have shape {tuple(goals.shape)}; expected (..., "
                             f"{self.codebook.goal_dim}) (the codebook's goal dim)")
        goals = goals.to(self.codebook.codes)
        if self.label_metric == "codebook":
            return self.codebook.assign(goals)
        similarity = F.normalize(goals, dim=-1) @ F.normalize(self.codebook.codes, dim=-1).T
        return similarity.argmax(-1)

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        owner = type(self).__name__
        observation = read_key(td, self.tensor_keys.observation, owner)
        labels = self.labels(read_key(td, self.tensor_keys.goal, owner))
        logits = self.prior(observation)
        if logits.shape[:-1] != labels.shape or logits.shape[-1] != self.codebook.num_codes:
            raise ValueError(f"GoalPriorLoss: the prior returned logits {tuple(logits.shape)}; expected "
                             f"{(*labels.shape, self.codebook.num_codes)} (one logit per code)")
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        accuracy = (logits.detach().argmax(-1) == labels).float().mean()
        return TensorDict({"loss_goal_prior": loss, "accuracy": accuracy}, batch_size=[])


class LowLevelNLLLoss(LossModule):
    """``-mean log pi(a | s, g)`` of a goal-conditioned policy.

    The policy needs ``distribution(obs, goal)`` (a torch Distribution; then ``mse`` of its mean is reported too,
    from the same forward pass, so BatchNorm statistics move once per batch) or ``log_prob(obs, goal, action)``.
    Output: ``loss_low_level`` and, with ``distribution``, ``mse`` (detached).
    """

    @dataclass
    class _AcceptedKeys:
        """Batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        goal: NestedKey = GOAL
        action: NestedKey = ACTION

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        if not any(callable(getattr(policy, name, None)) for name in ("distribution", "log_prob")):
            raise TypeError(f"LowLevelNLLLoss: the policy ({type(policy).__name__}) has neither "
                            "distribution(obs, goal) nor log_prob(obs, goal, action)")
        self.policy = policy

    @property
    def in_keys(self) -> list[NestedKey]:
        return [self.tensor_keys.observation, self.tensor_keys.goal, self.tensor_keys.action]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_low_level"]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        owner = type(self).__name__
        keys = self.tensor_keys
        observation, goal, action = (read_key(td, key, owner) for key in (keys.observation, keys.goal, keys.action))
        if not callable(getattr(self.policy, "distribution", None)):
            loss = -self.policy.log_prob(observation, goal, action).mean()
            return TensorDict({"loss_low_level": loss}, batch_size=[])
        dist = self.policy.distribution(observation, goal)
        if dist.mean.shape != action.shape:
            raise ValueError(f"LowLevelNLLLoss: the policy's actions have shape {tuple(dist.mean.shape)} but the "
                             f"batch's {keys.action!r} has shape {tuple(action.shape)}")
        loss = -dist.log_prob(action).mean()
        mse = ((dist.mean.detach() - action) ** 2).mean()
        return TensorDict({"loss_low_level": loss, "mse": mse}, batch_size=[])
