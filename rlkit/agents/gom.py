"""GOM (generalized occupancy model): cumulants, outcome model psi(s), readout policy pi(a | s, psi), reward weights.

The bundle a GOM run trains and a planner uses. It holds

* ``cumulants``: frozen :class:`RandomFourierCumulants` phi(s) (129-d by default);
* ``psi`` / ``psi_ema``: :class:`DiffusionModel` of the discounted feature sum given s, box
  ``[phi_low, phi_high] / (1 - gamma)``; the EMA copy gives Bellman targets and plans;
* ``policy`` / ``policy_ema``: :class:`DiffusionModel` of the action given ``[s, psi]``, box [-1, 1];
* ``w``: reward weights on phi(s') (the constant feature is the bias), so a reward is ``phi(s') @ w`` and an outcome's
  value ``psi @ w``;
* buffers ``phi_low`` / ``phi_high``: the dataset's per-dimension feature min / max (constant dim [0, 1]).

Features are *not* normalised (as the original): phi is ``[sin f, cos f, 1]``; the min/max only set psi's box.
``config`` is a plain dict of the constructor's size arguments; :meth:`GOM.save` writes it with the weights and
:meth:`GOM.load` rebuilds the model from it (and checks it against what the caller expects).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from rlkit.modules.cumulants import RandomFourierCumulants, lecun_truncated_normal_
from rlkit.modules.occupancy import DiffusionModel
from rlkit.modules.occupancy_unet import ConditionalMLPUNet
from rlkit.utils.atomic import atomic_path

CHECKPOINT_FORMAT = "rlkit-gom-1"

SMALL_SIZES = {"num_frequencies": 8, "cumulant_hidden_dim": 64, "cumulant_groups": 8, "embed_dim": 32,
               "down_dims": (32, 64)}
"""Tiny sizes for tests and smoke runs (``GOM.from_dataset_stats(..., small=True)``)."""


class GOMCheckpointError(ValueError):
    """A GOM checkpoint is unreadable, of another format, or built with another config; the message says which."""


class GOM(nn.Module):
    """The GOM model bundle (see the module docstring).

    Args:
        obs_dim, act_dim: observation and action sizes (actions live in [-1, 1]).
        phi_low, phi_high: ``(2 * num_frequencies + 1,)`` feature min / max of the dataset
            (:func:`rlkit.modules.cumulants.feature_bounds`).
        gamma: discount of the occupancy (psi's box is the feature box divided by ``1 - gamma``).
        num_frequencies, cumulant_hidden_dim, cumulant_groups, cumulant_seed: the random-feature MLP (64, 2048, 64, 0).
        embed_dim, down_dims: both denoisers' sizes (256, (256, 512, 1024)).
    """

    def __init__(self, obs_dim: int, act_dim: int, phi_low: torch.Tensor, phi_high: torch.Tensor, *,
                 gamma: float = 0.99, num_frequencies: int = 64, cumulant_hidden_dim: int = 2048,
                 cumulant_groups: int = 64, cumulant_seed: int = 0, embed_dim: int = 256,
                 down_dims: Sequence[int] = (256, 512, 1024)) -> None:
        super().__init__()
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"GOM: gamma must be in [0, 1); got {gamma}")
        self.config: dict[str, Any] = {
            "obs_dim": obs_dim, "act_dim": act_dim, "gamma": float(gamma), "num_frequencies": num_frequencies,
            "cumulant_hidden_dim": cumulant_hidden_dim, "cumulant_groups": cumulant_groups,
            "cumulant_seed": cumulant_seed, "embed_dim": embed_dim, "down_dims": [int(d) for d in down_dims],
        }
        self.obs_dim, self.act_dim, self.gamma = obs_dim, act_dim, float(gamma)
        self.cumulants = RandomFourierCumulants(obs_dim, num_frequencies, cumulant_hidden_dim, cumulant_groups,
                                                cumulant_seed)
        self.phi_dim = phi_dim = self.cumulants.out_dim
        phi_low, phi_high = torch.as_tensor(phi_low, dtype=torch.float32), torch.as_tensor(phi_high,
                                                                                            dtype=torch.float32)
        if phi_low.shape != (phi_dim,) or phi_high.shape != (phi_dim,):
            raise ValueError(f"GOM: phi_low and phi_high must have shape ({phi_dim},) (2 * num_frequencies + 1); "
                             f"got {tuple(phi_low.shape)} and {tuple(phi_high.shape)}")
        self.register_buffer("phi_low", phi_low.clone())
        self.register_buffer("phi_high", phi_high.clone())
        psi_net = ConditionalMLPUNet(phi_dim, obs_dim, embed_dim, down_dims)
        policy_net = ConditionalMLPUNet(act_dim, obs_dim + phi_dim, embed_dim, down_dims)
        self.psi = DiffusionModel(psi_net, phi_low / (1 - gamma), phi_high / (1 - gamma))
        self.policy = DiffusionModel(policy_net, -torch.ones(act_dim), torch.ones(act_dim))
        self.psi_ema = _frozen_copy(self.psi)
        self.policy_ema = _frozen_copy(self.policy)
        self.w = nn.Parameter(lecun_truncated_normal_(torch.empty(phi_dim), phi_dim))

    @classmethod
    def from_dataset_stats(cls, obs_dim: int, act_dim: int, phi_low: torch.Tensor, phi_high: torch.Tensor,
                           gamma: float = 0.99, small: bool = False, **sizes: Any) -> GOM:
        """The original's sizes, or :data:`SMALL_SIZES` with ``small=True``; ``sizes`` override either.

        Example:
            >>> low, high = -torch.ones(17), torch.ones(17)
            >>> gom = GOM.from_dataset_stats(4, 2, low, high, small=True)
            >>> gom.sample_psi(torch.zeros(3, 4), num_samples=2, steps=2).shape
            torch.Size([3, 2, 17])
        """
        chosen = {**(SMALL_SIZES if small else {}), **sizes}
        return cls(obs_dim, act_dim, phi_low, phi_high, gamma=gamma, **chosen)

    # -- acting and evaluating ----------------------------------------------------------------------------------
    def _check_obs(self, obs: torch.Tensor) -> None:
        if obs.ndim != 2 or obs.shape[-1] != self.obs_dim:
            raise ValueError(f"GOM expected observations of shape (B, {self.obs_dim}); got {tuple(obs.shape)}")

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """phi(obs) = [sin f, cos f, 1], ``(..., phi_dim)`` (unnormalised, as the original)."""
        return self.cumulants(obs)

    def sample_psi(self, obs: torch.Tensor, num_samples: int = 1, guidance: torch.Tensor | None = None,
                   ema: bool = True, steps: int = 50, noise: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """Outcome samples ``(B, num_samples, phi_dim)`` for obs ``(B, obs_dim)``; guidance is in psi's scaled space."""
        self._check_obs(obs)
        model = self.psi_ema if ema else self.psi
        return model.sample(obs, num_samples, guidance=guidance, steps=steps, noise=noise, generator=generator)

    def sample_action(self, obs: torch.Tensor, psi: torch.Tensor, ema: bool = True, steps: int = 50,
                      noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The readout policy's action ``(B, act_dim)`` for obs ``(B, obs_dim)`` and outcome psi ``(B, phi_dim)``.

        ``noise`` (B, act_dim) is the sampler's x_T draw (drawn from ``generator`` when omitted).
        """
        self._check_obs(obs)
        if psi.shape != (obs.shape[0], self.phi_dim):
            raise ValueError(f"GOM.sample_action expected psi of shape ({obs.shape[0]}, {self.phi_dim}); "
                             f"got {tuple(psi.shape)}")
        model = self.policy_ema if ema else self.policy
        if noise is not None:
            noise = noise.unsqueeze(1)
        return model.sample(torch.cat((obs, psi), dim=-1), 1, steps=steps, noise=noise, generator=generator)[:, 0]

    def predicted_reward(self, psi: torch.Tensor) -> torch.Tensor:
        """``psi @ w``: the value of an outcome (or the reward of phi(s')), shape ``psi.shape[:-1]``."""
        if psi.shape[-1] != self.phi_dim:
            raise ValueError(f"GOM.predicted_reward expected last dim {self.phi_dim}; got {tuple(psi.shape)}")
        return psi @ self.w

    def compile_samplers(self, **compile_kwargs: Any) -> GOM:
        """``torch.compile`` one sampler step of ``psi_ema`` and ``policy_ema`` (what planners call); returns self."""
        self.psi_ema.compile_sampler(**compile_kwargs)
        self.policy_ema.compile_sampler(**compile_kwargs)
        return self

    def guidance(self, coef: float) -> torch.Tensor:
        """The original's constant guidance ``w * 0.5 * psi_range * coef`` (0.5 antmaze, 0.001 kitchen)."""
        return self.w.detach() * 0.5 * (self.psi.high - self.psi.low) * coef

    # -- checkpoints ----------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write config + weights to ``path`` atomically (a crash never leaves a half-written file)."""
        payload = {"format": CHECKPOINT_FORMAT, "config": dict(self.config), "state_dict": self.state_dict()}
        with atomic_path(path) as temporary:
            torch.save(payload, temporary)

    @classmethod
    def load(cls, path: str | os.PathLike, expect: Mapping[str, Any] | None = None,
             map_location: str | torch.device | None = None) -> GOM:
        """Rebuild a GOM saved by :meth:`save`; ``expect`` (a subset of ``config``) must match the checkpoint's."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"GOM checkpoint {os.fspath(path)!r} does not exist")
        try:
            payload = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as error:  # noqa: BLE001 - any unpickling failure means the same to the caller
            raise GOMCheckpointError(f"GOM checkpoint {os.fspath(path)!r} could not be read: {error}") from error
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise GOMCheckpointError(f"{os.fspath(path)!r} is not a GOM checkpoint (format {CHECKPOINT_FORMAT!r})")
        config = payload["config"]
        if expect is not None:
            unknown = sorted(set(expect) - set(config))
            mismatched = {k: (config[k], expect[k]) for k in expect if k in config and
                          _normalise(config[k]) != _normalise(expect[k])}
            if unknown or mismatched:
                details = "; ".join(f"{k}: checkpoint {c!r}, expected {e!r}" for k, (c, e) in mismatched.items())
                raise GOMCheckpointError(
                    f"GOM checkpoint {os.fspath(path)!r} was built with another config: {details}"
                    + (f"; unknown keys {unknown} (config keys: {sorted(config)})" if unknown else ""))
        state = payload["state_dict"]
        kwargs = {k: v for k, v in config.items() if k not in ("obs_dim", "act_dim")}
        model = cls(config["obs_dim"], config["act_dim"], state["phi_low"], state["phi_high"], **kwargs)
        model.load_state_dict(state)
        return model.to(map_location) if map_location is not None else model


def _frozen_copy(model: DiffusionModel) -> DiffusionModel:
    """An independent copy whose parameters never need gradients (the EMA target)."""
    import copy

    target = copy.deepcopy(model)
    target.requires_grad_(False)
    return target


def _normalise(value: Any) -> Any:
    """Compare tuples and lists alike (configs round-trip through plain lists)."""
    return [_normalise(v) for v in value] if isinstance(value, (list, tuple)) else value
