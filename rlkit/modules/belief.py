"""BOReL's belief VAE: a recurrent encoder of the task posterior and the decoders the ELBO scores it with.

The encoder reads, step by step, the transition's ``(a_t, r_t, s_{t+1})`` and returns a diagonal Gaussian belief
``q(m | tau_{:t}) = N(mean_t, exp(logvar_t))`` over a latent task ``m``. The decoders reconstruct what the task
determines (rewards, optionally next states) from one latent sample; ``rlkit.objectives.elbo.BeliefELBOLoss`` puts
them together.

Trajectory tensors are batch-first, ``(B, H, dim)``. The decoders broadcast: a latent of shape ``(B, T, 1, L)`` and
transitions of shape ``(B, 1, H, dim)`` decode every step with every latent, ``(B, T, H, 1)``, without materialising
the ``(B, T, H, L + features)`` concatenation (the first layer is applied to the latent and to the features apart
and the two results are added, which is the same affine map as one Linear on their concatenation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def _feature_layer(in_dim: int, out_dim: int) -> nn.Linear | None:
    """A Linear+ReLU embedding's Linear, or None when ``out_dim`` is 0 (the input is then dropped, as in BOReL)."""
    if not isinstance(out_dim, int) or isinstance(out_dim, bool) or out_dim < 0:
        raise ValueError(f"embedding sizes must be ints >= 0; got {out_dim!r}")
    if out_dim == 0:
        return None
    if not isinstance(in_dim, int) or isinstance(in_dim, bool) or in_dim <= 0:
        raise ValueError(f"input dims must be positive ints; got {in_dim!r}")
    return nn.Linear(in_dim, out_dim)


def _embed(layer: nn.Linear | None, value: torch.Tensor | None) -> torch.Tensor | None:
    return None if layer is None or value is None else F.relu(layer(value))


def _check_last_dim(name: str, value: torch.Tensor, dim: int, owner: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{owner}: {name} must be a tensor; got {type(value).__name__}")
    if value.ndim == 0 or value.shape[-1] != dim:
        raise ValueError(f"{owner}: {name} must have last dim {dim}; got shape {tuple(value.shape)}")


class BeliefEncoder(nn.Module):
    """Recurrent posterior over the task: embeddings of (a_t, r_t, s_{t+1}) -> 1-layer GRU -> linear mean/logvar heads.

    Args:
        obs_dim, action_dim: sizes of s and a (one-hot actions for discrete domains).
        latent_dim: size of the task latent (BOReL: 5).
        hidden_size: GRU width (BOReL: 128; grid 64).
        state_embed, action_embed, reward_embed: Linear+ReLU embedding sizes of s_{t+1}, a_t, r_t (BOReL: 32, 16,
            16; grid 32, 0, 8). A size of 0 drops that input (the grid's action).
        reward_dim: size of r (1).

    The GRU's weights are orthogonal and its biases zero (as in the original); the embeddings and heads keep
    PyTorch's default init. The prior is the heads applied to the zero hidden state, so it is learnt too.

    Override :meth:`embed` to change what the GRU reads (its output size must stay :attr:`input_size`).

    Example:
        >>> enc = BeliefEncoder(obs_dim=2, action_dim=2)
        >>> mean, logvar, hidden = enc(torch.zeros(4, 10, 2), torch.zeros(4, 10, 1), torch.zeros(4, 10, 2))
        >>> mean.shape, hidden.shape  # index 0 is the prior, index t the posterior after t steps
        (torch.Size([4, 11, 5]), torch.Size([4, 11, 128]))
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        latent_dim: int = 5,
        hidden_size: int = 128,
        state_embed: int = 32,
        action_embed: int = 16,
        reward_embed: int = 16,
        reward_dim: int = 1,
    ) -> None:
        super().__init__()
        for name, value in {"obs_dim": obs_dim, "action_dim": action_dim, "latent_dim": latent_dim,
                            "hidden_size": hidden_size, "reward_dim": reward_dim}.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"BeliefEncoder: {name} must be a positive int; got {value!r}")
        self.obs_dim, self.action_dim, self.reward_dim = obs_dim, action_dim, reward_dim
        self.latent_dim, self.hidden_size = latent_dim, hidden_size
        self.action_embedding = _feature_layer(action_dim, action_embed)
        self.reward_embedding = _feature_layer(reward_dim, reward_embed)
        self.state_embedding = _feature_layer(obs_dim, state_embed)
        self.input_size = action_embed + reward_embed + state_embed
        if self.input_size == 0:
            raise ValueError("BeliefEncoder: all embedding sizes are 0; the GRU would read nothing")
        self.gru = nn.GRU(self.input_size, hidden_size, num_layers=1, batch_first=True)
        for name, param in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.orthogonal_(param)
            else:
                nn.init.zeros_(param)
        self.mean_head = nn.Linear(hidden_size, latent_dim)
        self.logvar_head = nn.Linear(hidden_size, latent_dim)

    # ------------------------------------------------------------------------------------------ overridable parts
    def embed(self, action: torch.Tensor | None, reward: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """Per-step GRU input (..., input_size): the concatenated Linear+ReLU embeddings of (a_t, r_t, s_{t+1})."""
        parts = [_embed(self.action_embedding, action), _embed(self.reward_embedding, reward),
                 _embed(self.state_embedding, next_obs)]
        return torch.cat([part for part in parts if part is not None], dim=-1)

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Belief parameters (mean, logvar) read from GRU hidden states (..., hidden_size)."""
        return self.mean_head(hidden), self.logvar_head(hidden)

    # ------------------------------------------------------------------------------------------------- public API
    def initial_hidden(self, batch_size: int, *, device: torch.device | None = None) -> torch.Tensor:
        """The zero hidden state (batch_size, hidden_size) every BAMDP meta-episode starts from."""
        param = self.mean_head.weight
        return torch.zeros(batch_size, self.hidden_size, device=device or param.device, dtype=param.dtype)

    def prior(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean, logvar, hidden) of the prior: the heads on the zero hidden state, each with batch ``batch_size``."""
        hidden = self.initial_hidden(batch_size)
        mean, logvar = self.heads(hidden)
        return mean, logvar, hidden

    def forward(
        self,
        action: torch.Tensor | None,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Beliefs along whole trajectories.

        Args:
            action (B, H, action_dim) (None allowed when ``action_embed`` is 0), reward (B, H, reward_dim),
            next_obs (B, H, obs_dim): the transitions (a_t, r_t, s_{t+1}), t = 0..H-1.
            hidden: (B, hidden_size) state to start from (default: zeros, i.e. a new meta-episode).

        Returns:
            mean, logvar (B, H+1, latent_dim) and hidden_seq (B, H+1, hidden_size): index 0 is the belief before
            any of these steps (the prior when ``hidden`` is None), index t the posterior after t steps.
        """
        batch, steps = self._check_inputs(action, reward, next_obs, sequence=True)
        start = self._start_hidden(hidden, batch, next_obs)
        outputs, _ = self.gru(self.embed(action, reward, next_obs), start.unsqueeze(0))
        hidden_seq = torch.cat([start.unsqueeze(1), outputs], dim=1)
        mean, logvar = self.heads(hidden_seq)
        return mean, logvar, hidden_seq

    def step(
        self,
        action: torch.Tensor | None,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One online update: (B, dim) transition and (B, hidden_size) state -> (mean, logvar, new hidden).

        Pass the returned hidden state to the next call for the whole meta-episode, across its episode
        boundaries (the belief is about the task, which does not change when an episode ends).
        """
        self._check_inputs(action, reward, next_obs, sequence=False)
        mean, logvar, hidden_seq = self.forward(None if action is None else action.unsqueeze(1), reward.unsqueeze(1),
                                                next_obs.unsqueeze(1), hidden)
        return mean[:, -1], logvar[:, -1], hidden_seq[:, -1]

    # -------------------------------------------------------------------------------------------------- checks
    def _check_inputs(
        self, action: torch.Tensor | None, reward: torch.Tensor, next_obs: torch.Tensor, *, sequence: bool
    ) -> tuple[int, int]:
        owner = f"BeliefEncoder.{'forward' if sequence else 'step'}"
        ndim = 3 if sequence else 2
        layout = "(B, H, dim)" if sequence else "(B, dim)"
        named = {"reward": (reward, self.reward_dim), "next_obs": (next_obs, self.obs_dim)}
        if action is not None:
            named["action"] = (action, self.action_dim)
        elif self.action_embedding is not None:
            raise ValueError(f"{owner}: action is None but action_embed > 0; pass the actions")
        lead = None
        for name, (value, dim) in named.items():
            _check_last_dim(name, value, dim, owner)
            if value.ndim != ndim:
                raise ValueError(f"{owner}: {name} must be {layout} with dim {dim}; got shape {tuple(value.shape)}")
            if lead is None:
                lead = tuple(value.shape[:-1])
            elif tuple(value.shape[:-1]) != lead:
                raise ValueError(f"{owner}: {name} has leading shape {tuple(value.shape[:-1])}; expected {lead} "
                                 "like reward")
        return lead[0], (lead[1] if sequence else 1)

    def _start_hidden(self, hidden: torch.Tensor | None, batch: int, like: torch.Tensor) -> torch.Tensor:
        if hidden is None:
            return self.initial_hidden(batch, device=like.device)
        if hidden.shape != (batch, self.hidden_size):
            raise ValueError(f"BeliefEncoder: hidden must have shape ({batch}, {self.hidden_size}); "
                             f"got {tuple(hidden.shape)}")
        return hidden


def _mlp_tail(in_dim: int, hidden_sizes: Sequence[int], out_dim: int) -> tuple[nn.Linear, nn.Sequential]:
    """The first Linear of an MLP ``in_dim -> hidden_sizes -> out_dim`` and the rest (ReLU between layers)."""
    sizes = [in_dim, *hidden_sizes, out_dim]
    if any(not isinstance(s, int) or isinstance(s, bool) or s <= 0 for s in sizes):
        raise ValueError(f"decoder sizes must be positive ints; got in={in_dim}, hidden={tuple(hidden_sizes)}, "
                         f"out={out_dim}")
    first = nn.Linear(sizes[0], sizes[1])
    rest: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[1:-1], sizes[2:]):
        rest += [nn.ReLU(inplace=True), nn.Linear(fan_in, fan_out)]  # in place: one (B, T, H, width) buffer less
    return first, nn.Sequential(*rest)


class _LatentConditionedMLP(nn.Module):
    """MLP on ``cat(z, features)`` whose first layer broadcasts z against the features instead of concatenating.

    ``W @ [z; f] + b == W_z @ z + (W_f @ f + b)``: the two halves are computed on their own (small) shapes and
    summed with broadcasting, so (B, T, 1, L) latents and (B, 1, H, F) features cost one (B, T, H, hidden) add.
    """

    def __init__(self, latent_dim: int, feature_dim: int, hidden_sizes: Sequence[int], out_dim: int) -> None:
        super().__init__()
        self.latent_dim, self.feature_dim = latent_dim, feature_dim
        self.first, self.rest = _mlp_tail(latent_dim + feature_dim, hidden_sizes, out_dim)

    def forward(self, latent: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        weight = self.first.weight
        hidden = F.linear(latent, weight[:, : self.latent_dim], self.first.bias)
        if features is not None:
            hidden = hidden + F.linear(features, weight[:, self.latent_dim:])
        return self.rest(hidden)  # starts with an in-place ReLU: ``hidden`` is a fresh tensor, never the input


class RewardDecoder(nn.Module):
    """Deterministic reward model r(z, s') or r(z, s, a, s'): MLP [32, 32] on z and Linear+ReLU embeddings; MSE.

    Args:
        latent_dim, obs_dim, action_dim: sizes of z, s and a.
        use_obs, use_action: also read s_t / a_t (BOReL: off for the semi-circle, on for cheetah and ant).
        hidden_sizes: MLP widths (BOReL: (32, 32)).
        state_embed, action_embed: embedding sizes of s/s' (shared Linear, as in the original) and a.

    Inputs broadcast (see the module docstring). :meth:`nll` is the per-step loss the ELBO sums.
    """

    def __init__(
        self,
        latent_dim: int,
        obs_dim: int,
        action_dim: int = 0,
        *,
        use_obs: bool = False,
        use_action: bool = False,
        hidden_sizes: Sequence[int] = (32, 32),
        state_embed: int = 32,
        action_embed: int = 16,
    ) -> None:
        super().__init__()
        if use_action and action_dim <= 0:
            raise ValueError(f"RewardDecoder: use_action=True needs action_dim > 0; got {action_dim}")
        if state_embed <= 0:
            raise ValueError(f"RewardDecoder: state_embed must be > 0 (s' is always read); got {state_embed}")
        self.obs_dim, self.action_dim, self.use_obs, self.use_action = obs_dim, action_dim, use_obs, use_action
        self.state_embedding = _feature_layer(obs_dim, state_embed)
        self.action_embedding = _feature_layer(action_dim, action_embed) if use_action else None
        action_features = action_embed if use_action else 0
        feature_dim = state_embed * (2 if use_obs else 1) + action_features
        self.net = _LatentConditionedMLP(latent_dim, feature_dim, hidden_sizes, 1)

    def features(
        self, obs: torch.Tensor | None, action: torch.Tensor | None, next_obs: torch.Tensor
    ) -> torch.Tensor:
        """Embedded transition features (..., feature_dim): [e(s'), e(a) if used, e(s) if used] (original order)."""
        _check_last_dim("next_obs", next_obs, self.obs_dim, "RewardDecoder")
        parts = [_embed(self.state_embedding, next_obs)]
        if self.use_action:
            if action is None:
                raise ValueError("RewardDecoder: use_action=True but action is None")
            _check_last_dim("action", action, self.action_dim, "RewardDecoder")
            parts.append(_embed(self.action_embedding, action))
        if self.use_obs:
            if obs is None:
                raise ValueError("RewardDecoder: use_obs=True but obs is None")
            _check_last_dim("obs", obs, self.obs_dim, "RewardDecoder")
            parts.append(_embed(self.state_embedding, obs))
        return torch.cat(parts, dim=-1)

    def forward(
        self, latent: torch.Tensor, obs: torch.Tensor | None, action: torch.Tensor | None, next_obs: torch.Tensor
    ) -> torch.Tensor:
        """Predicted reward (..., 1); the leading shapes of ``latent`` and the transition broadcast."""
        return self.net(latent, self.features(obs, action, next_obs))

    def nll(
        self,
        latent: torch.Tensor,
        obs: torch.Tensor | None,
        action: torch.Tensor | None,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
    ) -> torch.Tensor:
        """Squared error per decoded step (...,): the reward NLL of a unit-variance Gaussian, up to constants."""
        return (self(latent, obs, action, next_obs) - reward).pow(2).sum(-1)


class GridRewardDecoder(nn.Module):
    """GridNavi's reward model: z -> MLP [32, 32] -> one Bernoulli logit per cell, "is this cell the goal".

    The logit of the cell the agent reached (s_{t+1}) is scored with binary cross-entropy against
    ``reward == goal_reward`` (BOReL's multi-head Bernoulli decoder; it never needs the goal itself).

    Args:
        latent_dim: size of z. grid_size: cells per side (5 -> 25 logits). goal_reward: the reward at the goal (1).
        hidden_sizes: MLP widths (BOReL: (32, 32)).

    Cells are numbered ``x + grid_size * y`` from the first two entries of s' (integer cell coordinates, as
    BOReL's ``task_to_id``); override :meth:`cell_index` for another observation layout.
    """

    def __init__(
        self,
        latent_dim: int,
        grid_size: int = 5,
        *,
        goal_reward: float = 1.0,
        hidden_sizes: Sequence[int] = (32, 32),
    ) -> None:
        super().__init__()
        if not isinstance(grid_size, int) or grid_size <= 0:
            raise ValueError(f"GridRewardDecoder: grid_size must be a positive int; got {grid_size!r}")
        self.grid_size, self.goal_reward = grid_size, float(goal_reward)
        self.num_cells = grid_size * grid_size
        self.net = _LatentConditionedMLP(latent_dim, 0, hidden_sizes, self.num_cells)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """Goal logits over all cells (..., num_cells)."""
        return self.net(latent, None)

    def cell_index(self, next_obs: torch.Tensor) -> torch.Tensor:
        """Cell number (int64, ...) of each position; raises if a position is not a cell of the grid."""
        if next_obs.ndim == 0 or next_obs.shape[-1] < 2:
            raise ValueError(f"GridRewardDecoder: next_obs must have >= 2 entries (x, y) in its last dim; "
                             f"got shape {tuple(next_obs.shape)}")
        xy = next_obs[..., :2].round().long()
        outside = (xy < 0) | (xy >= self.grid_size)
        if outside.any():
            bad = next_obs[..., :2][outside.any(-1)][0].tolist()
            raise ValueError(f"GridRewardDecoder: position {bad} is outside the {self.grid_size}x{self.grid_size} "
                             "grid; expected integer cell coordinates in [0, grid_size)")
        return xy[..., 0] + self.grid_size * xy[..., 1]

    def nll(
        self,
        latent: torch.Tensor,
        obs: torch.Tensor | None,
        action: torch.Tensor | None,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
    ) -> torch.Tensor:
        """BCE per decoded step (...,) of the reached cell's logit against ``reward == goal_reward``."""
        logits = self(latent)
        cells = self.cell_index(next_obs)
        shape = torch.broadcast_shapes(logits.shape[:-1], cells.shape, reward.shape[:-1])
        picked = logits.expand(*shape, self.num_cells).gather(-1, cells.expand(shape).unsqueeze(-1)).squeeze(-1)
        target = (reward.squeeze(-1) == self.goal_reward).to(picked.dtype).expand(shape)
        return F.binary_cross_entropy_with_logits(picked, target, reduction="none")


class StateDecoder(nn.Module):
    """Transition model s' = f(z, s, a): MLP [32, 32] on z and Linear+ReLU embeddings of s and a; squared error.

    Off in BOReL's main domains, on for Wind and Escape Room. ``action_embed=0`` drops the action.
    """

    def __init__(
        self,
        latent_dim: int,
        obs_dim: int,
        action_dim: int,
        *,
        hidden_sizes: Sequence[int] = (32, 32),
        state_embed: int = 32,
        action_embed: int = 16,
    ) -> None:
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.state_embedding = _feature_layer(obs_dim, state_embed)
        self.action_embedding = _feature_layer(action_dim, action_embed)
        self.net = _LatentConditionedMLP(latent_dim, state_embed + action_embed, hidden_sizes, obs_dim)

    def forward(self, latent: torch.Tensor, obs: torch.Tensor, action: torch.Tensor | None) -> torch.Tensor:
        """Predicted s' (..., obs_dim); the leading shapes of ``latent`` and the transition broadcast."""
        _check_last_dim("obs", obs, self.obs_dim, "StateDecoder")
        parts = [_embed(self.state_embedding, obs)]
        if self.action_embedding is not None:
            if action is None:
                raise ValueError("StateDecoder: action is None but action_embed > 0")
            _check_last_dim("action", action, self.action_dim, "StateDecoder")
            parts.append(_embed(self.action_embedding, action))
        present = [part for part in parts if part is not None]
        return self.net(latent, torch.cat(present, dim=-1) if present else None)

    def nll(
        self, latent: torch.Tensor, obs: torch.Tensor, action: torch.Tensor | None, next_obs: torch.Tensor
    ) -> torch.Tensor:
        """Squared error summed over the state's dims, per decoded step (...,)."""
        return (self(latent, obs, action) - next_obs).pow(2).sum(-1)
