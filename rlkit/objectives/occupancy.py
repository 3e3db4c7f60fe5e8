"""GOM's losses: the distributional Bellman loss of the outcome model, the readout policy's diffusion BC, and w's MSE.

For a batch of transitions (s, a, r, s') with precomputed cumulants phi(s), phi(s'):

* Bellman target (no gradient): ``psi_target = phi(s) + gamma * m * psi'``, with ``psi'`` ONE eta-0 DDIM sample
  from the *EMA* outcome model given s', and ``m = 1`` (the original: dones are ignored) or ``m = 1 - terminated``
  with ``done_mask=True``;
* ``loss_psi``: epsilon-prediction diffusion loss of the online outcome model on ``psi_target`` given s;
* ``loss_policy``: epsilon-prediction diffusion loss of the online readout policy on ``a`` given ``[s, psi_target]``
  (behaviour cloning conditioned on the sampled outcome, no advantage weighting);
* ``loss_w``: ``mean((phi(s') @ w - r)^2)`` (the original's jointly trained reward weights).

The three touch disjoint parameters (the target carries no gradient), so one backward of their sum gives each
network exactly the gradient of its own loss.

:class:`OccupancyLoss` is a plain ``nn.Module`` (not a TorchRL ``LossModule``, whose key machinery gets in the way of
compiling the whole update): ``forward(batch)`` returns a TensorDict of ``loss_*`` terms and detached diagnostics,
and each term is a method a subclass can override (:meth:`~OccupancyLoss.bellman_target`,
:meth:`~OccupancyLoss.psi_loss`, :meth:`~OccupancyLoss.policy_loss`, :meth:`~OccupancyLoss.reward_loss`).
Keys are renamed with :meth:`~OccupancyLoss.set_keys`.
"""

from __future__ import annotations

import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn

from rlkit.agents.gom import GOM
from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.objectives.reward_weights import reward_mse

PHI = "phi"
NEXT_PHI = ("next", "phi")

DEFAULT_KEYS: dict[str, NestedKey] = {
    "observation": OBS, "action": ACTION, "phi": PHI, "next_phi": NEXT_PHI, "next_observation": NEXT_OBS,
    "reward": REWARD, "terminated": TERMINATED,
}


class OccupancyLoss(nn.Module):
    """GOM's losses on a transition batch (see the module docstring).

    Args:
        gom: the model bundle; its ``gamma`` is the discount (it also sets psi's box).
        done_mask: multiply the bootstrapped psi' by ``1 - terminated`` (default False: the original ignores dones).
        sampling_steps: DDIM steps of the target sample (50).
        train_w: include ``loss_w`` (the original's joint w); False when w is fitted in closed form.
    """

    def __init__(self, gom: GOM, *, done_mask: bool = False, sampling_steps: int = 50, train_w: bool = True) -> None:
        super().__init__()
        self.gom = gom
        self.done_mask, self.sampling_steps, self.train_w = done_mask, sampling_steps, train_w
        self.keys: dict[str, NestedKey] = dict(DEFAULT_KEYS)

    def set_keys(self, **keys: NestedKey) -> OccupancyLoss:
        """Rename batch keys, e.g. ``set_keys(phi="features")``; unknown names raise."""
        unknown = sorted(set(keys) - set(self.keys))
        if unknown:
            raise ValueError(f"OccupancyLoss.set_keys: unknown names {unknown}; known: {sorted(self.keys)}")
        self.keys.update(keys)
        return self

    # -- batch ------------------------------------------------------------------------------------------------------
    def read_batch(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """The batch's tensors by role, checked once: a missing key or a wrong shape names the key and expectation."""
        g = self.gom
        expected = {"observation": (g.obs_dim,), "action": (g.act_dim,), "phi": (g.phi_dim,),
                    "next_phi": (g.phi_dim,), "next_observation": (g.obs_dim,), "reward": (1,), "terminated": (1,)}
        tensors = {}
        for name, key in self.keys.items():
            if name == "terminated" and not self.done_mask and key not in batch.keys(True):
                continue
            if name == "reward" and not self.train_w and key not in batch.keys(True):
                continue
            if key not in batch.keys(True):
                raise KeyError(f"OccupancyLoss: batch has no key {key!r} ({name}); keys: {list(batch.keys(True))}")
            value = batch.get(key)
            if value.ndim != 2 or tuple(value.shape[1:]) != expected[name]:
                raise ValueError(f"OccupancyLoss: batch key {key!r} ({name}) must have shape (B, {expected[name][0]});"
                                 f" got {tuple(value.shape)}")
            tensors[name] = value
        sizes = {name: t.shape[0] for name, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"OccupancyLoss: batch entries disagree on the batch size: {sizes}")
        return tensors

    # -- terms ------------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def bellman_target(self, phi: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor | None = None,
                       noise: torch.Tensor | None = None) -> torch.Tensor:
        """``phi + gamma * m * psi_ema_sample(next_obs)``; ``noise`` (B, phi_dim) is the sampler's x_T draw."""
        if noise is not None:
            noise = noise.unsqueeze(1)
        next_psi = self.gom.psi_ema.sample(next_obs, 1, steps=self.sampling_steps, noise=noise)[:, 0]
        discount = self.gom.gamma
        if self.done_mask:
            if terminated is None:
                raise ValueError("OccupancyLoss: done_mask=True needs the batch's terminated flags")
            return phi + discount * (~terminated.bool()).to(phi.dtype) * next_psi
        return phi + discount * next_psi

    def psi_loss(self, obs: torch.Tensor, target: torch.Tensor, noise: torch.Tensor | None = None,
                 t: torch.Tensor | None = None) -> torch.Tensor:
        """Diffusion loss of the online outcome model on the target given s."""
        return self.gom.psi.loss(target, obs, noise=noise, t=t)

    def policy_loss(self, obs: torch.Tensor, action: torch.Tensor, target: torch.Tensor,
                    noise: torch.Tensor | None = None, t: torch.Tensor | None = None) -> torch.Tensor:
        """Diffusion loss of the online readout policy on the action given ``[s, psi_target]``."""
        return self.gom.policy.loss(action, torch.cat((obs, target), dim=-1), noise=noise, t=t)

    def reward_loss(self, next_phi: torch.Tensor, reward: torch.Tensor) -> torch.Tensor:
        """``mean((phi(s') @ w - r)^2)``."""
        return reward_mse(self.gom.w, next_phi, reward)

    def terms(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """All terms from :meth:`read_batch`'s tensors, as a plain dict."""
        target = self.bellman_target(tensors["phi"], tensors["next_observation"], tensors.get("terminated"))
        return self.training_terms(tensors, target)

    def training_terms(self, tensors: dict[str, torch.Tensor], target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The differentiable terms given the Bellman target (the part a trainer compiles with its backward)."""
        out = {
            "loss_psi": self.psi_loss(tensors["observation"], target),
            "loss_policy": self.policy_loss(tensors["observation"], tensors["action"], target),
            "target_psi_value": self.gom.predicted_reward(target).mean().detach(),
        }
        if self.train_w:
            out["loss_w"] = self.reward_loss(tensors["next_phi"], tensors["reward"])
        return out

    def forward(self, batch: TensorDictBase) -> TensorDict:
        """A TensorDict of ``loss_psi``, ``loss_policy`` (+ ``loss_w``) and the detached ``target_psi_value``."""
        return TensorDict(self.terms(self.read_batch(batch)), batch_size=[])
