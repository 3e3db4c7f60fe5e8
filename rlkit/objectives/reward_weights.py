"""Reward weights w with ``r ~ phi(s') @ w``: GOM's bridge from a task's reward to the outcome model.

Two ways, both on the cumulants of the *next* state (whose constant feature acts as the bias):

* :func:`fit_reward_weights`: closed-form least squares (the newer DiSPOs code fits w once with ``lstsq`` on 10,000
  random transitions); with ``ridge > 0`` the ridge solution ``(X^T X + ridge I)^-1 X^T y``.
* :func:`reward_mse`: the original's joint term, ``mean((phi(s') @ w - r)^2)``, minimised by Adam alongside the
  diffusion losses.
"""

from __future__ import annotations

import torch


def _check_pair(phi_next: torch.Tensor, reward: torch.Tensor, where: str) -> torch.Tensor:
    """Validate shapes and return the reward as ``(N,)``."""
    if phi_next.ndim != 2 or phi_next.shape[0] == 0:
        raise ValueError(f"{where}: phi_next must have shape (N, d) with N >= 1; got {tuple(phi_next.shape)}")
    if reward.shape not in ((phi_next.shape[0],), (phi_next.shape[0], 1)):
        raise ValueError(f"{where}: reward must have shape ({phi_next.shape[0]},) or ({phi_next.shape[0]}, 1) to "
                         f"match phi_next {tuple(phi_next.shape)}; got {tuple(reward.shape)}")
    return reward.reshape(-1)


def fit_reward_weights(phi_next: torch.Tensor, reward: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """The least-squares ``w`` (shape ``(d,)``) of ``phi_next @ w = reward``, solved in float64.

    ``ridge = 0`` gives the minimum-norm least-squares solution (rank-deficient features allowed, as ``lstsq``);
    ``ridge > 0`` adds ``ridge * ||w||^2``. Raises on shape mismatches and non-finite inputs.
    """
    reward = _check_pair(phi_next, reward, "fit_reward_weights")
    if ridge < 0:
        raise ValueError(f"fit_reward_weights: ridge must be >= 0; got {ridge}")
    if not (torch.isfinite(phi_next).all() and torch.isfinite(reward).all()):
        raise ValueError("fit_reward_weights: phi_next or reward contains NaN or inf")
    x, y = phi_next.double(), reward.double()
    if ridge > 0:
        gram = x.T @ x + ridge * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        w = torch.linalg.solve(gram, x.T @ y)
    else:
        # pinv gives the minimum-norm solution on every device (CUDA's lstsq only has the full-rank 'gels' driver)
        w = torch.linalg.pinv(x) @ y
    return w.to(phi_next.dtype)


def reward_mse(w: torch.Tensor, phi_next: torch.Tensor, reward: torch.Tensor) -> torch.Tensor:
    """The joint reward-regression term ``mean((phi_next @ w - reward)^2)`` (the original's w loss)."""
    reward = _check_pair(phi_next, reward, "reward_mse")
    if w.shape != (phi_next.shape[1],):
        raise ValueError(f"reward_mse: w must have shape ({phi_next.shape[1]},); got {tuple(w.shape)}")
    return (phi_next @ w - reward).square().mean()
