"""GOM's training table: transitions with precomputed cumulants phi(s), phi(s'), and a fast batch sampler.

The cumulants are a fixed function of the state, so the original computes them once for the whole dataset (in
chunks, with a progress bar) and trains from the stored arrays; their per-dimension min/max over phi(s) (the
constant bias dimension set to [0, 1]) scale the outcome model's targets. ``build_feature_transitions`` does the
same from a dataset in rlkit's layout (``rlkit.data.keys``), keeping only complete transitions (``has_next``) as
d4rl.qlearning_dataset does. Whole tensors stay resident (on the training device if asked), and
``FeatureBatchSampler`` draws batches by indexing them: no DataLoader, no workers, no per-sample Python.

Kitchen: the original cuts observations to 30 dims and then sets ``next_observations = observations`` (s' = s), so
its cumulant targets never see the next state. ``next_is_current=False`` (default) keeps the true s';
``next_is_current=True`` reproduces the original (see docs/deviations_gom.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDict

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.layout import transitions_only, validate_transitions
from rlkit.modules.cumulants import feature_bounds
from rlkit.trainers.progress import progress_bar

PHI = "phi"
NEXT_PHI = ("next", "phi")
TABLE_KEYS = (K.OBS, K.ACTION, PHI, K.NEXT_OBS, NEXT_PHI, K.REWARD, K.TERMINATED)

Features = Callable[[torch.Tensor], torch.Tensor]
RewardFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class FeatureTransitions:
    """The table (batch [N], keys ``TABLE_KEYS``) and the per-dimension range of phi(s) used to scale outcomes."""

    data: TensorDict
    feature_min: torch.Tensor
    feature_max: torch.Tensor

    def __len__(self) -> int:
        return self.data.batch_size[0]

    @property
    def obs_dim(self) -> int:
        return self.data.get(K.OBS).shape[1]

    @property
    def act_dim(self) -> int:
        return self.data.get(K.ACTION).shape[1]

    @property
    def feature_dim(self) -> int:
        return self.data.get(PHI).shape[1]


def _chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk_size: int, bar: Any,
             width: int | None, name: str, device: torch.device) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks on ``device``; check that every chunk returns (chunk, width) finite values."""
    out: torch.Tensor | None = None
    for start in range(0, x.shape[0], chunk_size):
        chunk = x[start:start + chunk_size].to(device, torch.float32)
        with torch.no_grad():
            value = fn(chunk)
        value = value.reshape(value.shape[0], -1) if value.ndim == 1 and width == 1 else value
        if value.ndim != 2 or value.shape[0] != chunk.shape[0] or (width is not None and value.shape[1] != width):
            raise DatasetError(
                f"{name} returned shape {tuple(value.shape)} for {chunk.shape[0]} observations of dim "
                f"{chunk.shape[1]}; expected ({chunk.shape[0]}, {width if width is not None else 'd'})"
            )
        if not bool(torch.isfinite(value).all()):
            raise DatasetError(f"{name} returned NaN/inf for rows {start}..{start + chunk.shape[0] - 1}")
        if out is None:
            width = value.shape[1]
            out = torch.empty((x.shape[0], width), dtype=torch.float32, device=device)
        out[start:start + chunk.shape[0]] = value
        bar.update(chunk.shape[0])
    assert out is not None
    return out


def build_feature_transitions(
    td: TensorDict,
    features: Features,
    *,
    reward_fn: RewardFn | None = None,
    observation_dims: int | None = None,
    next_is_current: bool = False,
    chunk_size: int = 16384,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
    source: str = "<dataset>",
) -> FeatureTransitions:
    """GOM's table from dataset ``td`` (rlkit layout) and a cumulant function ``features(obs (n, o)) -> (n, d)``.

    reward_fn: next observations (n, o) -> rewards (n,) or (n, 1), replacing the dataset's ("next", "reward")
        (e.g. a goal reward); None keeps the file's rewards.
    observation_dims: keep only the first k observation dims (the original's kitchen uses 30) before anything else.
    next_is_current: s' := s (observation and phi), reproducing the original's kitchen bug; off by default.
    The constant last cumulant gets the range [0, 1] as in the original, so ``features`` must end with it.
    """
    validate_transitions(td, source)
    rows = transitions_only(td)
    obs, next_obs = rows.get(K.OBS), rows.get(K.NEXT_OBS)
    if obs.ndim != 2:
        raise DatasetError(f"{source}: 'observation' has shape {tuple(obs.shape)}; GOM expects flat (N, obs_dim)")
    if observation_dims is not None:
        if not 1 <= observation_dims <= obs.shape[1]:
            raise DatasetError(f"{source}: observation_dims={observation_dims}; the observations have {obs.shape[1]}")
        obs, next_obs = obs[:, :observation_dims], next_obs[:, :observation_dims]
    if next_is_current:
        next_obs = obs
    device = torch.device(device)
    n = obs.shape[0]
    passes = 1 if next_is_current else 2
    with progress_bar(n * passes + (n if reward_fn is not None else 0), desc="cumulants", enabled=progress) as bar:
        phi = _chunked(features, obs, chunk_size, bar, None, "features", device)
        next_phi = phi if next_is_current else _chunked(features, next_obs, chunk_size, bar, phi.shape[1],
                                                        "features", device)
        if reward_fn is not None:
            reward = _chunked(reward_fn, next_obs, chunk_size, bar, 1, "reward_fn", device)
        else:
            reward = rows.get(K.REWARD).to(device, torch.float32)
    feature_min, feature_max = feature_bounds(phi, constant_last=True)
    data = TensorDict(
        {
            K.OBS: obs.to(device, torch.float32).contiguous(),
            K.ACTION: rows.get(K.ACTION).to(device, torch.float32).reshape(n, -1).contiguous(),
            PHI: phi,
            "next": {
                "observation": next_obs.to(device, torch.float32).contiguous(),
                "phi": next_phi,
                "reward": reward,
                "terminated": rows.get(K.TERMINATED).to(device).reshape(n, 1),
            },
        },
        batch_size=[n],
        device=device,
    )
    return FeatureTransitions(data, feature_min, feature_max)


def relabel_rewards(table: FeatureTransitions, reward_fn: RewardFn, chunk_size: int = 65536) -> FeatureTransitions:
    """The same table with ("next", "reward") recomputed from s' by ``reward_fn`` (features are shared, not copied)."""
    next_obs = table.data.get(K.NEXT_OBS)
    with progress_bar(len(table), desc="rewards", enabled=False) as bar:
        reward = _chunked(reward_fn, next_obs, chunk_size, bar, 1, "reward_fn", next_obs.device)
    data = table.data.copy()
    data.set(K.REWARD, reward)
    return FeatureTransitions(data, table.feature_min, table.feature_max)


class FeatureBatchSampler:
    """Batches of ``batch_size`` rows of a resident table, shuffled without replacement per epoch (drop_last),
    as the original's shuffled DataLoader; one index tensor per batch, no workers.

    Its ``state_dict`` (generator state, permutation, position) resumes exactly under ``rlkit.trainers.Checkpointer``.
    """

    def __init__(self, data: TensorDict, batch_size: int, seed: int = 0) -> None:
        n = data.batch_size[0]
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size={batch_size}; expected between 1 and the table's {n} rows")
        self.data, self.batch_size = data, int(batch_size)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.batches_per_epoch = n // self.batch_size
        self._order = torch.randperm(n, generator=self.generator)
        self._position = 0
        self.epoch = 0

    def sample(self) -> TensorDict:
        if self._position == self.batches_per_epoch:
            self._order = torch.randperm(len(self._order), generator=self.generator)
            self._position, self.epoch = 0, self.epoch + 1
        start = self._position * self.batch_size
        index = self._order[start:start + self.batch_size].to(self.data.device)
        self._position += 1
        return self.data[index]

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "order": self._order.clone(), "position": self._position,
                "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["order"]) != len(self._order):
            raise ValueError(f"sampler state is for {len(state['order'])} rows; this table has {len(self._order)}")
        self.generator.set_state(state["generator"])
        self._order, self._position, self.epoch = state["order"].clone(), int(state["position"]), int(state["epoch"])
