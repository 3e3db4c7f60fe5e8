"""Online decision transformer's loss: masked log-likelihood plus an entropy bonus with a learned temperature.

As in ODT (facebookresearch/online-dt) and ODT+TD3's ``--stoc 1 --use_entropy_reg 1``:

* actor:       ``-(mean loglik + T.detach() * H)``, H a 1-sample Monte-Carlo entropy (reparameterised, so it has
  gradients into the policy);
* temperature: ``T * (H - target_entropy).detach()``, ``T = exp(log_temperature)``; minimising it raises T while
  the entropy is below the target and lowers it above, like SAC's temperature.

The two terms touch disjoint parameters (the policy, and ``log_temperature``), so one ``backward`` of their sum
followed by two optimiser steps is the original's two separate updates. One deliberate difference: the original
averages the entropy over every position, padding included; here it is averaged over valid positions only, so that
padding changes nothing.
"""

from __future__ import annotations

import math

import torch
from tensordict import TensorDict, TensorDictBase
from torch import nn

from rlkit.objectives.dt_supervised import DTSupervisedLoss, PolicyOutput, is_distribution, masked_mean, read_key


class ODTEntropyLoss(DTSupervisedLoss):
    """Entropy-regularised NLL of a stochastic DT policy, with the temperature learned towards a target entropy.

    Args:
        policy: a stochastic DT policy (``StochasticDTPolicy``): returns a distribution with ``log_prob(a) -> (B, K)``
            and ``entropy_estimate(n) -> (B, K)``.
        init_temperature: T at start (the original: 0.1).
        target_entropy: default ``-act_dim`` (``policy.act_dim``).
        action_clip_eps: dataset actions are clipped to ``±(1 - action_clip_eps)`` before ``log_prob``.

    Output: ``"loss_actor"``, ``"loss_temperature"`` (backpropagate both; give ``[loss.log_temperature]`` its own
    optimiser, Adam lr 1e-4 in the original), and detached ``"nll"``, ``"entropy"``, ``"temperature"``.

    Example:
        >>> loss = ODTEntropyLoss(policy, init_temperature=0.1)
        >>> temperature_optim = torch.optim.Adam([loss.log_temperature], lr=1e-4)
        >>> out = loss(window_batch)
        >>> (out["loss_actor"] + out["loss_temperature"]).backward()
    """

    def __init__(
        self,
        policy: nn.Module,
        *,
        init_temperature: float = 0.1,
        target_entropy: float | None = None,
        action_clip_eps: float = 1e-6,
    ) -> None:
        super().__init__(policy, action_clip_eps=action_clip_eps)
        if not init_temperature > 0.0 or not math.isfinite(init_temperature):
            raise ValueError(f"ODTEntropyLoss: init_temperature must be a finite number > 0; got {init_temperature}")
        if target_entropy is None:
            act_dim = getattr(policy, "act_dim", None)
            if act_dim is None:
                raise ValueError("ODTEntropyLoss: target_entropy=None needs policy.act_dim (target = -act_dim); "
                                 f"{type(policy).__name__} has no act_dim, so pass target_entropy explicitly")
            target_entropy = -float(act_dim)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(init_temperature), dtype=torch.float32))
        self.register_buffer("target_entropy", torch.tensor(float(target_entropy), dtype=torch.float32))

    @property
    def out_keys(self) -> list[str]:
        return ["loss_actor", "loss_temperature", "nll", "entropy", "temperature"]

    def temperature(self) -> torch.Tensor:
        """T = exp(log_temperature), with gradient."""
        return self.log_temperature.exp()

    def loss_from_prediction(self, prediction: PolicyOutput, td: TensorDictBase) -> TensorDictBase:
        if not is_distribution(prediction):
            raise TypeError("ODTEntropyLoss needs a stochastic policy whose forward returns a distribution with "
                            "log_prob and entropy_estimate; got a plain action tensor (use DTSupervisedLoss for a "
                            "deterministic policy)")
        mask = read_key(td, self.tensor_keys.mask, type(self).__name__)
        log_likelihood = masked_mean(prediction.log_prob(self.clipped_actions(td)), mask)
        entropy = masked_mean(prediction.entropy_estimate(1), mask)
        temperature = self.temperature()
        loss_actor = -(log_likelihood + temperature.detach() * entropy)
        loss_temperature = temperature * (entropy - self.target_entropy).detach()
        return TensorDict(
            {
                "loss_actor": loss_actor,
                "loss_temperature": loss_temperature,
                "nll": -log_likelihood.detach(),
                "entropy": entropy.detach(),
                "temperature": temperature.detach(),
            },
            batch_size=[],
        )
