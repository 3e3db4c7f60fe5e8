"""BOReL's (VariBAD's) trajectory ELBO for a belief VAE, vectorised over every prefix of every trajectory.

For a trajectory of H transitions (s_t, a_t, r_t, s_{t+1}) the encoder gives H+1 beliefs q_t (q_0 the prior, q_t
after t steps). Each belief is scored by how well ONE sample z_t ~ q_t explains the WHOLE trajectory:

    rec_r = sum_{t=0..H} sum_{j<H} -log p(r_j | z_t, s_j, a_j, s_{j+1})      (squared error or Bernoulli BCE)
    rec_s = sum_{t=0..H} sum_{j<H} -log p(s_{j+1} | z_t, s_j, a_j)            (only with a state decoder)
    KL    = sum_{t=0..H} KL(q_t || q_{t-1}),   q_{-1} = N(0, I)
    loss  = mean over trajectories of  reward_coef * rec_r + state_coef * rec_s + kl_coef * KL   (1, 1, 0.05)

Vectorisation: latents of shape (B, H+1, 1, L) and transitions of shape (B, 1, H, dim) broadcast to the (B, H+1, H)
grid of (prefix, decoded step) pairs in one decoder call; there is no Python loop over t or j.

Options for the original's code paths (BOReL's train_vae_offline.py / models/vae.py):

* ``decode_reduction="sum"`` sums over decoded steps, as the ELBO is written (and as the original does for the grid's
  Bernoulli rewards). ``"mean"`` averages over them: what the original's code computes for continuous rewards and
  states (``.mean(dim=1)`` of a (H+1, H, 1) tensor averages over decoded steps; state errors are then summed over
  the state's dims). Use ``"mean"`` to reproduce the semi-circle, cheetah and ant runs' loss scale.
* ``include_prior_kl`` (default True): the t=0 term KL(q_0 || N(0, I)); False is the original's ``learn_prior``.
* ``kl_to_standard_normal`` (default False): every q_t against N(0, I) instead of q_{t-1} (``kl_to_gauss_prior``).
* ``decode_past_only`` (default False): ELBO_t decodes only steps j < t (``decode_only_past``; t=0 then decodes
  nothing).
The original's random subset of ELBO terms (``vae_batch_num_elbo_terms``, None in every config) is not offered.

Padding: an optional ``mask`` (B, H) marks valid steps; padding must be at the end (a trajectory is a prefix of a
meta-episode). Padded steps are never decoded, and beliefs after padded steps get no reconstruction or KL term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn
from torchrl.objectives import LossModule

from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD
from rlkit.data.window_keys import MASK
from rlkit.objectives.dt_supervised import read_key

Reduction = Literal["sum", "mean"]
AUTO_CHUNK_PAIRS = 2**14
"""CPU default: as many trajectories per decoder call as fit in this many (prefix, step) pairs (at least one)."""


def gaussian_kl(
    mean: torch.Tensor, logvar: torch.Tensor, ref_mean: torch.Tensor, ref_logvar: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean, e^logvar) || N(ref_mean, e^ref_logvar)) of diagonal Gaussians, summed over the last dim."""
    return 0.5 * (ref_logvar - logvar - 1.0 + (logvar - ref_logvar).exp()
                  + (mean - ref_mean).pow(2) * (-ref_logvar).exp()).sum(-1)


def check_right_padded(mask: torch.Tensor, owner: str) -> None:
    """Raise unless ``mask`` (B, H) is bool and each row is True then False (padding only at the end)."""
    if mask.dtype != torch.bool or mask.ndim != 2:
        raise ValueError(f"{owner}: mask must be a bool tensor (B, H); got {mask.dtype} {tuple(mask.shape)}")
    gaps = mask[:, 1:] & ~mask[:, :-1]
    if gaps.any():
        row = int(gaps.any(1).nonzero()[0])
        raise ValueError(f"{owner}: mask row {row} has a valid step after a padded one; padding must be at the end "
                         "of each trajectory (a belief depends on every step before it)")


class BeliefELBOLoss(LossModule):
    """Negative ELBO of a belief VAE over batches of whole trajectories (TorchRL ``LossModule`` conventions).

    Args:
        encoder: a :class:`rlkit.modules.belief.BeliefEncoder` (or anything with its ``forward`` signature).
        reward_decoder: :class:`RewardDecoder` / :class:`GridRewardDecoder` (anything with
            ``nll(latent, obs, action, next_obs, reward) -> (...,)``), or None.
        state_decoder: :class:`StateDecoder` (``nll(latent, obs, action, next_obs)``), or None.
        reward_coef, state_coef, kl_coef: term weights (BOReL: 1, 1, 0.05).
        decode_reduction, include_prior_kl, kl_to_standard_normal, decode_past_only: see the module docstring.
        decode_chunk_size: trajectories decoded per decoder call; None: the whole batch in one broadcast;
            "auto" (default): the whole batch on CUDA, elsewhere as many trajectories as fit in
            ``AUTO_CHUNK_PAIRS`` (prefix, step) pairs. Values and gradients are the same either way; only speed
            and memory change. One broadcast suits a GPU; on a CPU, small chunks keep each (H+1, H, width)
            activation cache-sized and ran ~3x faster than one broadcast at BOReL's sizes (benchmarks/belief_vae.py).

    ``forward(td)`` reads a TensorDict of batch (B, H) (keys: observation, action, ("next", "reward"),
    ("next", "observation"), optional mask; rename with ``set_keys``) and returns ``loss_reward``, ``loss_state``
    (with a state decoder) and ``loss_kl`` (already weighted: their sum is the loss) plus the unweighted, detached
    ``reconstruction_reward``, ``reconstruction_state``, ``kl``. :meth:`loss_terms` does the same on plain tensors.

    Term methods to override: :meth:`encode`, :meth:`sample_latents`, :meth:`reward_reconstruction`,
    :meth:`state_reconstruction`, :meth:`kl_divergence`, :meth:`reduce_decoded`.
    """

    @dataclass
    class _AcceptedKeys:
        """Trajectory-batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        action: NestedKey = ACTION
        reward: NestedKey = REWARD
        next_observation: NestedKey = NEXT_OBS
        mask: NestedKey = MASK

    def __init__(
        self,
        encoder: nn.Module,
        reward_decoder: nn.Module | None = None,
        state_decoder: nn.Module | None = None,
        *,
        reward_coef: float = 1.0,
        state_coef: float = 1.0,
        kl_coef: float = 0.05,
        decode_reduction: Reduction = "sum",
        include_prior_kl: bool = True,
        kl_to_standard_normal: bool = False,
        decode_past_only: bool = False,
        decode_chunk_size: int | Literal["auto"] | None = "auto",
    ) -> None:
        super().__init__()
        if reward_decoder is None and state_decoder is None:
            raise ValueError("BeliefELBOLoss: give a reward_decoder, a state_decoder or both")
        for name, value in {"reward_coef": reward_coef, "state_coef": state_coef, "kl_coef": kl_coef}.items():
            if not value >= 0.0:
                raise ValueError(f"BeliefELBOLoss: {name} must be >= 0; got {value}")
        if decode_reduction not in ("sum", "mean"):
            raise ValueError(f"BeliefELBOLoss: decode_reduction must be 'sum' or 'mean'; got {decode_reduction!r}")
        self.encoder = encoder
        self.reward_decoder = reward_decoder
        self.state_decoder = state_decoder
        self.reward_coef, self.state_coef, self.kl_coef = reward_coef, state_coef, kl_coef
        self.decode_reduction = decode_reduction
        self.include_prior_kl = include_prior_kl
        self.kl_to_standard_normal = kl_to_standard_normal
        self.decode_past_only = decode_past_only
        valid_int = isinstance(decode_chunk_size, int) and not isinstance(decode_chunk_size, bool) \
            and decode_chunk_size >= 1
        if decode_chunk_size not in (None, "auto") and not valid_int:
            raise ValueError(f"BeliefELBOLoss: decode_chunk_size must be 'auto', None or an int >= 1; "
                             f"got {decode_chunk_size!r}")
        self.decode_chunk_size = decode_chunk_size

    @property
    def in_keys(self) -> list[NestedKey]:
        keys = self.tensor_keys
        return [keys.observation, keys.action, keys.reward, keys.next_observation, keys.mask]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_reward", "loss_state", "loss_kl"]

    # ------------------------------------------------------------------------------------------------ entry points
    def forward(self, td: TensorDictBase) -> TensorDictBase:
        keys, owner = self.tensor_keys, type(self).__name__
        obs, action, reward, next_obs = (read_key(td, key, owner) for key in
                                         (keys.observation, keys.action, keys.reward, keys.next_observation))
        return self.loss_terms(obs, action, reward, next_obs, td.get(keys.mask, None))

    def loss_terms(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> TensorDictBase:
        """The loss terms for trajectories obs/action/next_obs (B, H, dim), reward (B, H, 1), mask (B, H) bool."""
        step_mask = self._check_batch(obs, action, reward, next_obs, mask)
        batch, horizon = reward.shape[:2]
        prefix_mask = torch.cat([step_mask.new_ones(batch, 1), step_mask], dim=1)  # belief t valid iff t <= length
        decode_mask = prefix_mask[:, :, None] & step_mask[:, None, :]               # (B, H+1, H)
        if self.decode_past_only:
            steps = torch.arange(horizon, device=reward.device)
            decode_mask = decode_mask & (steps[None, :] < torch.arange(horizon + 1, device=reward.device)[:, None])

        mean, logvar = self.encode(action, reward, next_obs)
        latents = self.sample_latents(mean, logvar)
        out: dict[str, torch.Tensor] = {}
        transitions = (obs, action, reward, next_obs)
        if self.reward_decoder is not None:
            rec = self._decode(self.reward_reconstruction, latents, transitions, decode_mask).mean()
            out.update(loss_reward=self.reward_coef * rec, reconstruction_reward=rec.detach())
        if self.state_decoder is not None:
            rec = self._decode(self.state_reconstruction, latents, transitions, decode_mask).mean()
            out.update(loss_state=self.state_coef * rec, reconstruction_state=rec.detach())
        kl_terms = self.kl_divergence(mean, logvar)
        if not self.include_prior_kl:
            kl_terms = kl_terms[:, 1:]
            prefix_mask = prefix_mask[:, 1:]
        kl = torch.where(prefix_mask, kl_terms, 0.0).sum(1).mean()
        out.update(loss_kl=self.kl_coef * kl, kl=kl.detach())
        return TensorDict(out, batch_size=[])

    # ---------------------------------------------------------------------------------------------- term methods
    def encode(
        self, action: torch.Tensor, reward: torch.Tensor, next_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Belief parameters (B, H+1, L) after every prefix, the prior first."""
        mean, logvar, _ = self.encoder(action, reward, next_obs)
        return mean, logvar

    def sample_latents(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """One reparameterised sample per belief, (B, H+1, L)."""
        return mean + (0.5 * logvar).exp() * torch.randn_like(mean)

    def reward_reconstruction(
        self,
        latents: torch.Tensor,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
    ) -> torch.Tensor:
        """Reward NLL (B, H+1, H) of every decoded step under every prefix's latent (latents (B, H+1, 1, L))."""
        return self.reward_decoder.nll(latents, obs, action, next_obs, reward)

    def state_reconstruction(
        self,
        latents: torch.Tensor,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
    ) -> torch.Tensor:
        """Next-state NLL (B, H+1, H) of every decoded step under every prefix's latent."""
        return self.state_decoder.nll(latents, obs, action, next_obs)

    def kl_divergence(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL terms (B, H+1): KL(q_t || q_{t-1}) with q_{-1} = N(0, I), or KL(q_t || N(0, I)) for every t."""
        if self.kl_to_standard_normal:
            zeros = torch.zeros_like(mean)
            return gaussian_kl(mean, logvar, zeros, zeros)
        zero = torch.zeros_like(mean[:, :1])
        ref_mean = torch.cat([zero, mean[:, :-1]], dim=1)
        ref_logvar = torch.cat([zero, logvar[:, :-1]], dim=1)
        return gaussian_kl(mean, logvar, ref_mean, ref_logvar)

    def reduce_decoded(self, per_step: torch.Tensor, decode_mask: torch.Tensor) -> torch.Tensor:
        """Per-trajectory reconstruction (B,): over decoded steps (sum or mean of valid ones), then sum over t."""
        if per_step.shape != decode_mask.shape:
            raise ValueError(f"{type(self).__name__}: a decoder's nll returned shape {tuple(per_step.shape)}; "
                             f"expected {tuple(decode_mask.shape)} (batch, prefixes, decoded steps)")
        decoded = torch.where(decode_mask, per_step, 0.0).sum(2)
        if self.decode_reduction == "mean":
            decoded = decoded / decode_mask.sum(2).clamp_min(1)
        return decoded.sum(1)

    def _decode(self, term, latents: torch.Tensor, transitions: tuple[torch.Tensor, ...],
                decode_mask: torch.Tensor) -> torch.Tensor:
        """Per-trajectory reconstruction (B,) of one term, ``decode_chunk_size`` trajectories per decoder call."""
        batch = latents.shape[0]
        size = self.chunk_size_for(batch, *decode_mask.shape[1:], latents.device)
        parts = []
        for start in range(0, batch, size):
            rows = slice(start, start + size)
            # latents (b, H+1, 1, L) against transitions (b, 1, H, dim): the whole (prefix, step) grid at once
            per_step = term(latents[rows, :, None], *(value[rows, None] for value in transitions))
            parts.append(self.reduce_decoded(per_step, decode_mask[rows]))
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def chunk_size_for(self, batch: int, prefixes: int, steps: int, device: torch.device) -> int:
        """Trajectories per decoder call that ``decode_chunk_size`` resolves to for this batch."""
        if self.decode_chunk_size is None or (self.decode_chunk_size == "auto" and device.type == "cuda"):
            return max(batch, 1)
        if self.decode_chunk_size == "auto":
            return min(batch, max(1, AUTO_CHUNK_PAIRS // max(prefixes * steps, 1)))
        return min(batch, self.decode_chunk_size)

    # --------------------------------------------------------------------------------------------------- checks
    def _check_batch(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        owner = type(self).__name__
        named = {"observation": obs, "action": action, "reward": reward, "next_observation": next_obs}
        for name, value in named.items():
            if value.ndim != 3:
                raise ValueError(f"{owner}: {name} must be (B, H, dim); got shape {tuple(value.shape)}")
            if value.shape[:2] != reward.shape[:2]:
                raise ValueError(f"{owner}: {name} has batch {tuple(value.shape[:2])}; expected "
                                 f"{tuple(reward.shape[:2])} like reward")
        if reward.shape[0] == 0 or reward.shape[1] == 0:
            raise ValueError(f"{owner}: the batch is empty (B, H) = {tuple(reward.shape[:2])}; expected B, H >= 1")
        if reward.shape[-1] != 1:
            raise ValueError(f"{owner}: reward must be (B, H, 1); got shape {tuple(reward.shape)}")
        if next_obs.shape != obs.shape:
            raise ValueError(f"{owner}: next_observation has shape {tuple(next_obs.shape)}; expected "
                             f"{tuple(obs.shape)} like observation")
        if mask is None:
            return torch.ones(reward.shape[:2], dtype=torch.bool, device=reward.device)
        if tuple(mask.shape) != tuple(reward.shape[:2]):
            raise ValueError(f"{owner}: mask has shape {tuple(mask.shape)}; expected {tuple(reward.shape[:2])}")
        check_right_padded(mask, owner)
        return mask
