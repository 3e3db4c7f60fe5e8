"""Discrete SAC regularised towards a frozen prior instead of towards uniform: PTGM's high-level objective.

The high-level policy pi(code | s) chooses among K goal codes; instead of an entropy bonus it pays ``alpha`` times
a KL divergence to the pretrained goal prior p(code | s). With K small, every expectation over codes is exact:

* KL per state, analytic over all codes: ``"pi_prior"`` = KL(pi || p) = sum_a pi (log pi - log p) (the soft-Q
  form; PTGM's Minecraft version), or ``"prior_pi"`` = KL(p || pi) = sum_a p (log p - log pi) (what the Kitchen
  original computes); optionally clamped to ±``kl_clamp`` per state (the original clamps at 100).
* actor: ``E_s[alpha * KL(s) - sum_a pi(a|s) min_i Q_i(s, a)]``; for ``"pi_prior"`` this is
  ``E_s sum_a pi(a|s) (alpha log(pi/p) - min Q)``. Q and alpha are detached.
* critics: ``y = r + gamma^n (1 - terminated) V(s')``, ``V(s') = sum_a pi(a|s') min_i Q'_i(s', a) - alpha KL(s')``,
  with the target critics Q'; truncation does NOT cut the bootstrap (only ``terminated`` does). ``n`` = 1 per
  high-level step (the original), or the number of env steps the code ran (``discount_by_inner_steps=True``).
  Loss: sum over the two critics of the mean squared error.
* temperature: ``loss_alpha = alpha * (target_kl - KL)`` with alpha = exp(log_alpha): alpha grows when the
  policy strays further than ``target_kl`` nats from the prior and shrinks otherwise.

After each optimiser step call :meth:`update_targets` (Polyak, ``tau``). Term methods (:meth:`kl`,
:meth:`actor_loss`, :meth:`qvalue_loss`, :meth:`alpha_loss`, :meth:`next_value`) can be overridden one at a time.

Example:
    >>> loss = PriorKLDiscreteSACLoss(prior, obs_dim=60, num_codes=50)   # policy starts as a copy of the prior
    >>> out = loss(batch)   # loss_actor, loss_qvalue, loss_alpha, alpha, kl, entropy
    >>> (out["loss_actor"] + out["loss_qvalue"] + out["loss_alpha"]).backward()
    >>> loss.update_targets()
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn
from torchrl.objectives import LossModule

from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.modules.mlp import MLP
from rlkit.objectives.dt_supervised import read_key
from rlkit.objectives.soft_update import polyak_update_

KL_DIRECTIONS: tuple[str, ...] = ("pi_prior", "prior_pi")
INNER_STEPS = ("next", "inner_steps")
"""Default key of the number of env steps a high-level step ran (``GoalCodeWrapper`` reports it in info)."""


class PriorKLDiscreteSACLoss(LossModule):
    """Prior-KL-regularised discrete SAC over ``num_codes`` actions, with twin critics and their targets.

    Args:
        prior: ``prior(obs) -> logits (B, K)``; a frozen deep copy is kept (the caller's module is left alone).
        obs_dim, num_codes: sizes of the observation and the code set.
        policy: the trainable ``policy(obs) -> logits``; default a deep copy of ``prior`` (PTGM's initialisation).
        critics: two modules ``obs -> (B, K)`` Q-values; default two ``MLP(obs_dim, K, hidden_sizes)``.
        hidden_sizes: critic hidden layers (the original: 5 x 256).
        gamma, tau: discount per high-level step and Polyak rate of the target critics.
        kl_direction: "pi_prior" (KL(pi || p), default) or "prior_pi" (KL(p || pi), the Kitchen original).
        kl_clamp: clamp each state's KL to [-kl_clamp, kl_clamp] (the original: 100); None = no clamp.
        target_kl, alpha_init, learn_alpha: the temperature's target divergence (nats), start value, and whether
            it is learned (else ``loss_alpha`` is 0 and alpha stays at ``alpha_init``).
        discount_by_inner_steps: discount by ``gamma ** inner_steps`` read from the batch (semi-MDP).
        freeze_policy_batchnorm: keep the policy's BatchNorm layers in eval mode (normalise with the prior's
            dataset statistics) also while training, so acting and learning see the same function.

    Batch keys (``set_keys`` to rename): observation (B, obs), action (B,) or (B, 1) code index or (B, K)
    one-hot, ("next", "observation"), ("next", "reward") (B, 1), ("next", "terminated") (B, 1), and
    ("next", "inner_steps") (B, 1) when ``discount_by_inner_steps``.
    """

    @dataclass
    class _AcceptedKeys:
        """Batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        action: NestedKey = ACTION
        next_observation: NestedKey = NEXT_OBS
        reward: NestedKey = REWARD
        terminated: NestedKey = TERMINATED
        inner_steps: NestedKey = INNER_STEPS

    def __init__(
        self,
        prior: nn.Module,
        obs_dim: int,
        num_codes: int,
        *,
        policy: nn.Module | None = None,
        critics: Sequence[nn.Module] | None = None,
        hidden_sizes: Sequence[int] = (256,) * 5,
        gamma: float = 0.99,
        tau: float = 5e-3,
        kl_direction: str = "pi_prior",
        kl_clamp: float | None = None,
        target_kl: float = 5.0,
        alpha_init: float = 1.0,
        learn_alpha: bool = True,
        discount_by_inner_steps: bool = False,
        freeze_policy_batchnorm: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if kl_direction not in KL_DIRECTIONS:
            raise ValueError(f"{name}: kl_direction={kl_direction!r}; expected one of {KL_DIRECTIONS}")
        checks = {"gamma": (gamma, 0.0 <= gamma <= 1.0, "in [0, 1]"), "tau": (tau, 0.0 <= tau <= 1.0, "in [0, 1]"),
                  "alpha_init": (alpha_init, alpha_init > 0.0 or (alpha_init == 0.0 and not learn_alpha),
                                 "> 0 (or 0 with learn_alpha=False)"),
                  "kl_clamp": (kl_clamp, kl_clamp is None or kl_clamp > 0.0, "> 0 or None")}
        for key, (value, ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"{name}: {key} must be {expected}; got {value!r}")
        self.obs_dim, self.num_codes = obs_dim, num_codes
        self.gamma, self.tau = gamma, tau
        self.kl_direction, self.kl_clamp, self.target_kl = kl_direction, kl_clamp, target_kl
        self.discount_by_inner_steps = discount_by_inner_steps
        self.freeze_policy_batchnorm = freeze_policy_batchnorm

        self.prior_network = copy.deepcopy(prior).requires_grad_(False)
        self.policy = copy.deepcopy(prior).requires_grad_(True) if policy is None else policy
        if critics is None:
            critics = [MLP(obs_dim, num_codes, hidden_sizes) for _ in range(2)]
        if len(critics) != 2:
            raise ValueError(f"{name}: expected 2 critics (twin Q); got {len(critics)}")
        self.critics = nn.ModuleList(critics)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        log_alpha = torch.tensor(float(alpha_init)).log()  # alpha_init 0 (fixed) gives -inf, alpha exactly 0
        if learn_alpha:
            self.log_alpha = nn.Parameter(log_alpha)
        else:
            self.register_buffer("log_alpha", log_alpha)
        self.learn_alpha = learn_alpha
        self.train()

    # ------------------------------------------------------------------ plumbing
    @property
    def in_keys(self) -> list[NestedKey]:
        keys = self.tensor_keys
        extra = [keys.inner_steps] if self.discount_by_inner_steps else []
        return [keys.observation, keys.action, keys.next_observation, keys.reward, keys.terminated, *extra]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_actor", "loss_qvalue", "loss_alpha", "alpha", "kl", "entropy"]

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    def train(self, mode: bool = True) -> PriorKLDiscreteSACLoss:
        """Train/eval as usual, except that the prior and target critics always stay in eval mode."""
        super().train(mode)
        self.prior_network.eval()
        self.target_critics.eval()
        if self.freeze_policy_batchnorm:
            for module in self.policy.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def _get(self, td: TensorDictBase, key: NestedKey) -> torch.Tensor:
        return read_key(td, key, type(self).__name__)

    def _logits(self, network: nn.Module, obs: torch.Tensor, what: str) -> torch.Tensor:
        logits = network(obs)
        if logits.shape != (*obs.shape[:-1], self.num_codes):
            raise ValueError(f"{type(self).__name__}: the {what} returned shape {tuple(logits.shape)} for observations "
                             f"{tuple(obs.shape)}; expected {(*obs.shape[:-1], self.num_codes)}")
        return logits

    def policy_log_probs(self, obs: torch.Tensor) -> torch.Tensor:
        """log pi(. | s): (B, K)."""
        return F.log_softmax(self._logits(self.policy, obs, "policy"), -1)

    @torch.no_grad()
    def prior_log_probs(self, obs: torch.Tensor) -> torch.Tensor:
        """log p(. | s) of the frozen prior: (B, K)."""
        return F.log_softmax(self._logits(self.prior_network, obs, "prior"), -1)

    def q_values(self, obs: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q-values of both critics (or both target critics): (2, B, K)."""
        critics = self.target_critics if target else self.critics
        return torch.stack([self._logits(critic, obs, "critic") for critic in critics])

    def _action_index(self, td: TensorDictBase) -> torch.Tensor:
        action = self._get(td, self.tensor_keys.action)
        if action.ndim == 2 and action.shape[1] == self.num_codes and action.shape[1] != 1:
            return action.argmax(-1)  # one-hot
        if action.ndim == 2 and action.shape[1] == 1:
            action = action.squeeze(1)
        if action.ndim != 1 or (action.is_floating_point() and not bool((action == action.round()).all())):
            raise ValueError(f"{type(self).__name__}: action has shape {tuple(action.shape)}; expected code indices "
                             f"(B,) or (B, 1), or one-hot (B, {self.num_codes})")
        action = action.long()
        if bool(((action < 0) | (action >= self.num_codes)).any()):
            raise ValueError(f"{type(self).__name__}: action holds code indices outside [0, {self.num_codes})")
        return action

    # ------------------------------------------------------------------ the terms
    def kl(self, log_pi: torch.Tensor, log_prior: torch.Tensor) -> torch.Tensor:
        """The divergence of each state, exact over all codes: (B, K), (B, K) -> (B,)."""
        if self.kl_direction == "pi_prior":
            kl = (log_pi.exp() * (log_pi - log_prior)).sum(-1)
        else:
            kl = (log_prior.exp() * (log_prior - log_pi)).sum(-1)
        return kl if self.kl_clamp is None else kl.clamp(-self.kl_clamp, self.kl_clamp)

    def actor_loss(self, td: TensorDictBase) -> TensorDictBase:
        """``loss_actor = mean(alpha * KL(s) - sum_a pi(a|s) min Q(s, a))``, with kl and entropy (detached)."""
        obs = self._get(td, self.tensor_keys.observation)
        log_pi = self.policy_log_probs(obs)
        log_prior = self.prior_log_probs(obs)
        with torch.no_grad():
            min_q = self.q_values(obs).min(0).values
        kl = self.kl(log_pi, log_prior)
        pi = log_pi.exp()
        loss = (self.alpha.detach() * kl - (pi * min_q).sum(-1)).mean()
        entropy = -(pi * log_pi).sum(-1).mean().detach()
        return TensorDict({"loss_actor": loss, "kl": kl.mean().detach(), "entropy": entropy}, batch_size=[])

    @torch.no_grad()
    def next_value(self, next_obs: torch.Tensor) -> torch.Tensor:
        """``V(s') = sum_a pi(a|s') min_i Q'_i(s', a) - alpha KL(s')`` with the target critics: (B,)."""
        log_pi = self.policy_log_probs(next_obs)
        min_q = self.q_values(next_obs, target=True).min(0).values
        return (log_pi.exp() * min_q).sum(-1) - self.alpha * self.kl(log_pi, self.prior_log_probs(next_obs))

    @torch.no_grad()
    def td_target(self, td: TensorDictBase) -> torch.Tensor:
        """``r + gamma^n (1 - terminated) V(s')``: (B,)."""
        keys = self.tensor_keys
        reward = self._get(td, keys.reward).reshape(-1).float()
        terminated = self._get(td, keys.terminated).reshape(-1)
        if reward.shape != terminated.shape:
            raise ValueError(f"{type(self).__name__}: reward has {reward.numel()} entries and terminated "
                             f"{terminated.numel()}; expected one per transition, (B, 1) each")
        discount = torch.full_like(reward, self.gamma)
        if self.discount_by_inner_steps:
            discount = discount ** self._get(td, keys.inner_steps).reshape(-1).to(reward)
        value = self.next_value(self._get(td, keys.next_observation))
        return reward + discount * (~terminated.bool()).to(reward) * value

    def qvalue_loss(self, td: TensorDictBase) -> TensorDictBase:
        """``loss_qvalue`` = sum over the two critics of mean (Q_i(s, a) - y)^2, and the mean Q (detached)."""
        obs = self._get(td, self.tensor_keys.observation)
        action = self._action_index(td)
        target = self.td_target(td)
        q = self.q_values(obs).gather(-1, action.expand(2, -1).unsqueeze(-1)).squeeze(-1)  # (2, B)
        if q.shape[1] != target.shape[0]:
            raise ValueError(f"{type(self).__name__}: {q.shape[1]} actions but {target.shape[0]} rewards")
        loss = ((q - target) ** 2).mean(-1).sum()
        return TensorDict({"loss_qvalue": loss, "q_mean": q.mean().detach()}, batch_size=[])

    def alpha_loss(self, kl: torch.Tensor) -> torch.Tensor:
        """``alpha * (target_kl - KL)`` (KL detached); 0 when alpha is not learned."""
        if not self.learn_alpha:
            return torch.zeros((), device=kl.device)
        return (self.alpha * (self.target_kl - kl.detach())).mean()

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        out = self.actor_loss(td)
        out.update(self.qvalue_loss(td))
        out.set("loss_alpha", self.alpha_loss(out["kl"]))
        out.set("alpha", self.alpha.detach())
        return out

    @torch.no_grad()
    def update_targets(self) -> None:
        """Polyak-average the target critics towards the critics."""
        polyak_update_(self.target_critics, self.critics, self.tau)
