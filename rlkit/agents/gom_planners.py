"""Choose the outcome psi* to realise at the current state, then ask the readout policy for an action (GOM/DiSPOs).

A GOM transfers to a new task by linear regression only: with r(s) ~ phi(s)^T w, an outcome psi (a discounted sum
of cumulants) is worth psi^T w, so acting well means sampling a good psi from the outcome model p(psi | s) and then
an action from the readout policy pi(a | s, psi). The planners below are re-run at every env step and are written
against two callables, so any outcome model and policy plug in:

* ``psi_sampler(obs (B, o), num_samples: int, guidance: Tensor | None) -> (B, n, d)``: outcomes drawn for each
  state; ``guidance`` (d,) is a constant added to the model's score at every denoising step (in the model's
  [-1, 1]-scaled outcome space, as the original adds it);
* ``action_sampler(obs (B, o), psi (B, d)) -> (B, a)``: the readout policy.

``RandomShootingPlanner`` draws many outcomes and keeps the mean of the best-scoring ones; subclasses change the
ranking by overriding ``score`` (e.g. risk-sensitive readouts). ``GuidedDiffusionPlanner`` draws one outcome whose
sampling is steered along w. ``GOMActor`` turns either into a policy for gymnasium envs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

PsiSampler = Callable[[torch.Tensor, int, "torch.Tensor | None"], torch.Tensor]
ActionSampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_weights(w: torch.Tensor) -> torch.Tensor:
    w = torch.as_tensor(w)
    if w.ndim == 2 and 1 in w.shape:  # a (d, 1) Dense kernel or a (1, d) row
        w = w.reshape(-1)
    if w.ndim != 1 or w.numel() == 0:
        raise ValueError(f"reward weights w have shape {tuple(w.shape)}; expected a vector (d,)")
    return w


def _check_obs(obs: torch.Tensor) -> torch.Tensor:
    if obs.ndim != 2:
        raise ValueError(f"observations have shape {tuple(obs.shape)}; expected (batch, obs_dim)")
    return obs


def _check_psis(psis: torch.Tensor, batch: int, num_samples: int, dim: int) -> torch.Tensor:
    if tuple(psis.shape) != (batch, num_samples, dim):
        raise ValueError(
            f"psi_sampler returned shape {tuple(psis.shape)}; expected (batch, num_samples, d) = "
            f"({batch}, {num_samples}, {dim}) with d the length of w"
        )
    return psis


class Planner:
    """Base class: ``planner(obs) -> psi* (B, d)``, the outcome the readout policy should realise.

    The reward weights live in ``self.w`` so that refitting w for a new task (``planner.w = new_w``) changes the
    behaviour without rebuilding anything.
    """

    def __init__(self, psi_sampler: PsiSampler, w: torch.Tensor) -> None:
        if not callable(psi_sampler):
            raise TypeError(f"psi_sampler must be callable, got {type(psi_sampler).__name__}")
        self.psi_sampler = psi_sampler
        self.w = w

    @property
    def w(self) -> torch.Tensor:
        return self._w

    @w.setter
    def w(self, value: torch.Tensor) -> None:
        self._w = _check_weights(value)

    def plan(self, obs: torch.Tensor) -> torch.Tensor:
        """psi* (B, d) to condition the readout policy on, for checked observations (B, o); subclasses define it."""
        raise NotImplementedError

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return self.plan(_check_obs(obs))


class RandomShootingPlanner(Planner):
    """Sample ``num_samples`` outcomes per state and return the mean of the ``num_elites`` best by ``score``.

    The original ranks by the predicted value psi^T w and averages the top ``num_elites`` (1 by default: the single
    best sample). Ties are broken by ``torch.topk`` (no guaranteed order).
    """

    def __init__(
        self, psi_sampler: PsiSampler, w: torch.Tensor, num_samples: int = 1000, num_elites: int = 1
    ) -> None:
        super().__init__(psi_sampler, w)
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if not 1 <= num_elites <= num_samples:
            raise ValueError(f"num_elites must be in [1, num_samples={num_samples}], got {num_elites}")
        self.num_samples, self.num_elites = int(num_samples), int(num_elites)

    def score(self, psis: torch.Tensor) -> torch.Tensor:
        """Value of each outcome, (B, n, d) -> (B, n); higher is better. Override to rank differently."""
        return psis @ self.w.to(psis)

    def plan(self, obs: torch.Tensor) -> torch.Tensor:
        psis = _check_psis(self.psi_sampler(obs, self.num_samples, None), obs.shape[0], self.num_samples, len(self.w))
        scores = self.score(psis)
        if tuple(scores.shape) != tuple(psis.shape[:2]):
            raise ValueError(f"score returned shape {tuple(scores.shape)}; expected {tuple(psis.shape[:2])}")
        top = scores.topk(self.num_elites, dim=1).indices  # (B, k)
        elites = psis.gather(1, top.unsqueeze(-1).expand(-1, -1, psis.shape[-1]))
        return elites.mean(dim=1)


def guidance_vector(w: torch.Tensor, psi_min: torch.Tensor, psi_max: torch.Tensor, coef: float) -> torch.Tensor:
    """The original's constant guidance ``w * 0.5 * (psi_max - psi_min) * coef`` (d,).

    Why this form: the outcome model works on x = 2 (psi - psi_min) / (psi_max - psi_min) - 1, so the gradient of
    the value psi^T w with respect to x is w * (psi_max - psi_min) / 2; ``coef`` scales that gradient before it
    is added to the score at every DDIM step.
    """
    w = _check_weights(w)
    psi_min, psi_max = torch.as_tensor(psi_min).to(w), torch.as_tensor(psi_max).to(w)
    if psi_min.shape != w.shape or psi_max.shape != w.shape:
        raise ValueError(
            f"psi_min {tuple(psi_min.shape)} and psi_max {tuple(psi_max.shape)} must have the shape of w "
            f"{tuple(w.shape)}"
        )
    return w * 0.5 * (psi_max - psi_min) * coef


class GuidedDiffusionPlanner(Planner):
    """Draw one outcome per state with the sampler's score pushed along the value's gradient (the original's default).

    psi_min, psi_max: the outcome scaling of the model (feature min/max divided by 1 - gamma), (d,) each.
    guidance_coef: 0.5 antmaze, 0.001 kitchen, 0.05 roboverse in the original's configs.
    """

    def __init__(
        self,
        psi_sampler: PsiSampler,
        w: torch.Tensor,
        psi_min: torch.Tensor,
        psi_max: torch.Tensor,
        guidance_coef: float = 0.5,
    ) -> None:
        self.psi_min, self.psi_max = torch.as_tensor(psi_min), torch.as_tensor(psi_max)
        self.guidance_coef = float(guidance_coef)
        super().__init__(psi_sampler, w)
        guidance_vector(self.w, self.psi_min, self.psi_max, self.guidance_coef)  # shape errors now, not mid-episode

    @property
    def guidance(self) -> torch.Tensor:
        return guidance_vector(self.w, self.psi_min, self.psi_max, self.guidance_coef)

    def plan(self, obs: torch.Tensor) -> torch.Tensor:
        psis = _check_psis(self.psi_sampler(obs, 1, self.guidance.to(obs)), obs.shape[0], 1, len(self.w))
        return psis[:, 0]


class GOMActor:
    """A policy for gymnasium envs: observation(s) -> planner's psi* -> readout policy's action, under ``no_grad``.

    Accepts one observation (o,) or a batch (B, o) as numpy or torch; returns the same batching as numpy float32
    (or a tensor if the input was a tensor). ``obs_dim`` (optional) turns a wrong-sized observation into an error
    that names both sizes instead of a shape error deep inside a network.
    """

    def __init__(
        self,
        planner: Callable[[torch.Tensor], torch.Tensor],
        action_sampler: ActionSampler,
        device: str | torch.device = "cpu",
        obs_dim: int | None = None,
    ) -> None:
        self.planner, self.action_sampler = planner, action_sampler
        self.device, self.obs_dim = torch.device(device), obs_dim

    def __call__(self, obs: Any) -> np.ndarray | torch.Tensor:
        as_tensor = isinstance(obs, torch.Tensor)
        x = torch.as_tensor(np.asarray(obs) if not as_tensor else obs, device=self.device).to(torch.float32)
        single = x.ndim == 1
        if single:
            x = x.unsqueeze(0)
        if x.ndim != 2:
            raise ValueError(f"observation has shape {tuple(x.shape)}; expected (obs_dim,) or (batch, obs_dim)")
        if self.obs_dim is not None and x.shape[1] != self.obs_dim:
            raise ValueError(f"observation has {x.shape[1]} dims; the model was trained on obs_dim={self.obs_dim}")
        with torch.no_grad():
            psi = self.planner(x)
            action = self.action_sampler(x, psi)
        if action.ndim != 2 or action.shape[0] != x.shape[0]:
            raise ValueError(f"action_sampler returned shape {tuple(action.shape)}; expected ({x.shape[0]}, act_dim)")
        if single:
            action = action[0]
        return action if as_tensor else action.detach().cpu().numpy().astype(np.float32)
