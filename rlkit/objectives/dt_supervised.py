"""Supervised decision-transformer loss over padded windows: masked MSE (deterministic head) or masked NLL (stochastic).

This is the behaviour-cloning half of ODT+TD3's actor loss and the whole loss of a plain DT. Padded positions
(``mask`` False) contribute nothing, and every mean is over the valid positions only, as in the original's
``((a_hat - a) ** 2)[mask].mean()`` and ``log_likelihood(a)[mask].mean()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn
from torchrl.objectives import LossModule

from rlkit.data.keys import ACTION, OBS
from rlkit.data.window_keys import MASK, RTG, TIMESTEP

PolicyOutput = Any
"""What a DT policy returns: an action tensor (B, K, A) or a distribution with batch shape (B, K)."""


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, K) over the positions where ``mask`` (B, K) is True (selected, not multiplied, so
    padding holding inf cannot leak in); 0 when none is. No host sync."""
    total = torch.where(mask, values, 0.0).sum()
    return total / mask.sum().clamp_min(1).to(values.dtype)


def is_distribution(prediction: PolicyOutput) -> bool:
    """True for a stochastic head's output (anything but a plain action tensor)."""
    return not isinstance(prediction, torch.Tensor)


def read_key(td: TensorDictBase, key: NestedKey, owner: str) -> torch.Tensor:
    """``td[key]``, or a KeyError that names the missing key, the loss that wanted it and the keys present."""
    value = td.get(key, None)
    if value is None:
        present = sorted(str(k) for k in td.keys(include_nested=True, leaves_only=True))
        raise KeyError(f"{owner}: the window batch has no entry {key!r} (set it with .set_keys(...)); "
                       f"present keys: {present}")
    return value


class DTSupervisedLoss(LossModule):
    """Masked supervised loss of a decision-transformer policy on a window batch (batch size (B, K)).

    A deterministic policy (returns actions) gets the mean squared error over valid positions and action dims; a
    stochastic one (returns a tanh-Gaussian) gets the mean negative log-likelihood over valid positions of the
    dataset actions, clipped to ``±(1 - action_clip_eps)`` so that ``atanh`` stays finite.

    Output: ``"loss_actor"`` (what to backpropagate) plus ``"mse"`` or ``"nll"`` (detached, for logging).

    Subclasses override :meth:`loss_from_prediction`; :class:`~rlkit.objectives.ODTTD3Loss` calls it directly on
    the prediction it already made, so the DT runs once per actor step.

    Example:
        >>> loss = DTSupervisedLoss(policy)            # policy: DeterministicDTPolicy or StochasticDTPolicy
        >>> out = loss(window_batch)                   # TensorDict(loss_actor=..., mse=...)
        >>> out["loss_actor"].backward()
    """

    @dataclass
    class _AcceptedKeys:
        """Window-batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        action: NestedKey = ACTION
        return_to_go: NestedKey = RTG
        timestep: NestedKey = TIMESTEP
        mask: NestedKey = MASK

    def __init__(self, policy: nn.Module, *, action_clip_eps: float = 1e-6) -> None:
        super().__init__()
        if not 0.0 <= action_clip_eps < 1.0:
            raise ValueError(f"{type(self).__name__}: action_clip_eps must be in [0, 1); got {action_clip_eps}")
        self.policy = policy
        self.action_clip_eps = action_clip_eps

    @property
    def in_keys(self) -> list[NestedKey]:
        keys = self.tensor_keys
        return [keys.observation, keys.action, keys.return_to_go, keys.timestep, keys.mask]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_actor"]

    def policy_inputs(self, td: TensorDictBase) -> tuple[torch.Tensor, ...]:
        """``(states, actions, returns_to_go, timesteps, mask)`` read from the window batch, in the policy's order."""
        owner = type(self).__name__
        keys = self.tensor_keys
        return tuple(read_key(td, key, owner) for key in
                     (keys.observation, keys.action, keys.return_to_go, keys.timestep, keys.mask))

    def clipped_actions(self, td: TensorDictBase) -> torch.Tensor:
        """Dataset actions clipped into the open interval where a tanh-squashed log-probability is finite."""
        bound = 1.0 - self.action_clip_eps
        return read_key(td, self.tensor_keys.action, type(self).__name__).clamp(-bound, bound)

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        return self.loss_from_prediction(self.policy(*self.policy_inputs(td)), td)

    def loss_from_prediction(self, prediction: PolicyOutput, td: TensorDictBase) -> TensorDictBase:
        """The loss terms for a prediction the policy already made on ``td`` (override this to change the loss)."""
        mask = read_key(td, self.tensor_keys.mask, type(self).__name__)
        if is_distribution(prediction):
            nll = masked_mean(-prediction.log_prob(self.clipped_actions(td)), mask)
            return TensorDict({"loss_actor": nll, "nll": nll.detach()}, batch_size=[])
        target = read_key(td, self.tensor_keys.action, type(self).__name__)
        if prediction.shape != target.shape:
            raise ValueError(f"{type(self).__name__}: policy predicted actions of shape {tuple(prediction.shape)} "
                             f"but the batch's {self.tensor_keys.action!r} has shape {tuple(target.shape)}")
        mse = masked_mean((prediction - target).pow(2).mean(-1), mask)
        return TensorDict({"loss_actor": mse, "mse": mse.detach()}, batch_size=[])
