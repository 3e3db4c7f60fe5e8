"""ODT+TD3: a TD3 twin critic over decision-transformer windows, and the combined actor loss that adds -Q to the DT's.

The math of "RL Gradients as Vitamin for Online Finetuning Decision Transformers" (Yan et al., NeurIPS 2024):

* critic target, at every position t of the window:
  ``y_t = r_t + gamma * (1 - terminated_t) * min(Q1', Q2')(s_{t+1}, clip(a~_{t+1} + clip(N(0, sigma), ±c), low, high))``
  where ``a~`` is what a Polyak *target copy* of the DT predicts on the window shifted by one step
  (:meth:`ODTTD3Loss.shift_window`); causality makes each ``a~_{t+1}`` see exactly s_<=t+1, R_<=t+1, a_<=t;
* critic loss: ``sum over valid (b, t) of (Q1 - y)^2 + (Q2 - y)^2``, divided by ``B * K`` (the original's
  ``(err * mask).mean()``);
* actor loss: ``sup_coeff * L_sup + rl_coeff * mean over valid (b, t) of -Q1(s_t, a^_t)``, ``a^_t`` the online
  DT's prediction at EVERY position (each from its causal prefix), through a critic whose parameters are detached;
* after each actor step, Polyak-average both targets (:meth:`ODTTD3Loss.update_targets`).

The recipe of the original's loop (delayed actor updates, TD3's "policy delay"):

    delay = DelayedUpdates(interval)               # 2 for MuJoCo, 1 for Adroit/AntMaze/Maze2D
    for step in range(num_steps):
        batch = replay.sample(256)
        critic_optim.zero_grad(); loss.critic_loss(batch)["loss_critic"].backward(); critic_optim.step()
        if delay.due(step):
            actor = loss.actor_loss(batch)
            dt_optim.zero_grad(); actor["loss_actor"].backward(); clip_grad_norm_(policy.parameters(), 0.25)
            dt_optim.step(); scheduler.step()
            loss.update_targets()
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.utils import NestedKey
from torch import nn
from torch.func import functional_call
from torchrl.objectives import LossModule

from rlkit.data.keys import ACTION, HAS_NEXT, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.data.window_keys import MASK, NEXT_RTG, RTG, TIMESTEP
from rlkit.objectives.dt_supervised import DTSupervisedLoss, PolicyOutput, is_distribution, masked_mean, read_key
from rlkit.objectives.soft_update import polyak_update_


class DelayedUpdates:
    """TD3's policy delay: the actor (and target) update is due on every ``interval``-th critic step.

    ``due(step)`` is True for step 0, interval, 2*interval, ... (the original's ``step % interval == 0``), so the
    first critic step is followed by an actor step. Stateless, hence nothing to checkpoint beyond the step count.
    """

    def __init__(self, interval: int) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f"DelayedUpdates: interval must be an int >= 1; got {interval!r}")
        self.interval = interval

    def due(self, step: int) -> bool:
        """Whether the actor and target update is due after critic step ``step`` (counted from 0)."""
        if step < 0:
            raise ValueError(f"DelayedUpdates.due: step must be >= 0; got {step}")
        return step % self.interval == 0

    def __repr__(self) -> str:
        return f"DelayedUpdates(interval={self.interval})"


def _accepts_mask(module: nn.Module) -> bool:
    """Whether ``module.forward`` takes a ``mask`` argument (recurrent critics read the window's padding)."""
    return "mask" in inspect.signature(module.forward).parameters


class ODTTD3Loss(LossModule):
    """TD3 critic and combined actor losses for a decision-transformer policy, with target copies of both.

    Args:
        policy: a DT policy: ``policy(states, actions, returns_to_go, timesteps, mask)`` returns actions (B, K, A) in
            (-1, 1) (``DeterministicDTPolicy``) or a tanh-Gaussian with ``.mean`` and ``.rsample()``
            (``StochasticDTPolicy``: its mean is the action the RL term uses, a sample the target action).
        critic: a twin critic: ``critic(states, actions[, mask]) -> (2, B, K, 1)`` (``TwinQCritic`` per token, or
            ``RecurrentTwinQCritic``, which also gets the window mask).
        gamma: discount. tau: Polyak rate of both targets.
        policy_noise, noise_clip: target policy smoothing, N(0, policy_noise) clipped to ±noise_clip.
        actor_rl_coeff, actor_sup_coeff: weights of -Q and of the supervised loss (ODT+TD3: 0.1 and 1; TD3 alone:
            sup 0; ODT alone: rl 0 with an :class:`ODTEntropyLoss` as ``supervised_loss``).
        action_low, action_high: range the smoothed target action is clipped to.
        supervised_loss: the supervised term (a :class:`DTSupervisedLoss` or subclass built on the same policy);
            default ``DTSupervisedLoss(policy)``. Its extra terms (e.g. ``loss_temperature``) are passed through.

    Methods: :meth:`critic_loss`, :meth:`actor_loss`, :meth:`update_targets`, :meth:`shift_window`; ``forward``
    returns both losses at once (the critic and actor terms touch disjoint parameters, so one backward of their sum
    works; the original instead steps the critic before computing the actor loss).

    Window batch keys (``set_keys`` to rename): observation, action, return_to_go, timestep, mask, and
    ("next", "observation"), ("next", "return_to_go"), ("next", "reward") (raw, not reward-scaled),
    ("next", "terminated").

    The target networks are ``_target_policy`` and ``_target_critic``: in ``state_dict`` (checkpoints), but not in
    ``parameters()`` (TorchRL's convention), and always in eval mode (no dropout), as in the original.
    """

    @dataclass
    class _AcceptedKeys:
        """Window-batch keys the loss reads (change with ``set_keys``)."""

        observation: NestedKey = OBS
        action: NestedKey = ACTION
        return_to_go: NestedKey = RTG
        timestep: NestedKey = TIMESTEP
        mask: NestedKey = MASK
        next_observation: NestedKey = NEXT_OBS
        next_return_to_go: NestedKey = NEXT_RTG
        reward: NestedKey = REWARD
        terminated: NestedKey = TERMINATED
        has_next: NestedKey = HAS_NEXT

    def __init__(
        self,
        policy: nn.Module,
        critic: nn.Module,
        *,
        gamma: float = 0.99,
        tau: float = 0.005,
        policy_noise: float = 0.2,
        noise_clip: float = 0.5,
        actor_rl_coeff: float = 0.1,
        actor_sup_coeff: float = 1.0,
        action_low: float = -1.0,
        action_high: float = 1.0,
        supervised_loss: DTSupervisedLoss | None = None,
    ) -> None:
        super().__init__()
        checks = {
            "gamma": (gamma, 0.0 <= gamma <= 1.0, "in [0, 1]"),
            "tau": (tau, 0.0 <= tau <= 1.0, "in [0, 1]"),
            "policy_noise": (policy_noise, policy_noise >= 0.0, ">= 0"),
            "noise_clip": (noise_clip, noise_clip >= 0.0, ">= 0"),
            "actor_rl_coeff": (actor_rl_coeff, actor_rl_coeff >= 0.0, ">= 0"),
            "actor_sup_coeff": (actor_sup_coeff, actor_sup_coeff >= 0.0, ">= 0"),
            "action_high": (action_high, action_high > action_low, f"> action_low={action_low}"),
        }
        for name, (value, ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"ODTTD3Loss: {name} must be {expected}; got {value}")
        if supervised_loss is not None and supervised_loss.policy is not policy:
            raise ValueError("ODTTD3Loss: supervised_loss must be built on the same policy object as the loss")
        self.policy = policy
        self.critic = critic
        self.supervised_loss = supervised_loss if supervised_loss is not None else DTSupervisedLoss(policy)
        self._target_policy = copy.deepcopy(policy).requires_grad_(False).eval()
        self._target_critic = copy.deepcopy(critic).requires_grad_(False).eval()
        self._critic_takes_mask = _accepts_mask(critic)
        self.gamma = gamma
        self.tau = tau
        self.policy_noise = policy_noise
        self.noise_clip = noise_clip
        self.actor_rl_coeff = actor_rl_coeff
        self.actor_sup_coeff = actor_sup_coeff
        self.action_low = action_low
        self.action_high = action_high
        self._sync_supervised_keys()

    # ------------------------------------------------------------------ plumbing
    @property
    def in_keys(self) -> list[NestedKey]:
        keys = self.tensor_keys
        return [keys.observation, keys.action, keys.return_to_go, keys.timestep, keys.mask, keys.next_observation,
                keys.next_return_to_go, keys.reward, keys.terminated]

    @property
    def out_keys(self) -> list[str]:
        return ["loss_critic", "loss_actor", "loss_sup", "loss_rl"]

    def set_keys(self, **kwargs: NestedKey) -> None:
        super().set_keys(**kwargs)
        self._sync_supervised_keys()

    def _sync_supervised_keys(self) -> None:
        shared = self.supervised_loss._AcceptedKeys.__dataclass_fields__
        self.supervised_loss.set_keys(**{name: getattr(self.tensor_keys, name) for name in shared
                                         if hasattr(self.tensor_keys, name)})

    def train(self, mode: bool = True) -> ODTTD3Loss:
        super().train(mode)
        self._target_policy.eval()
        self._target_critic.eval()
        return self

    def _get(self, td: TensorDictBase, key: NestedKey) -> torch.Tensor:
        return read_key(td, key, type(self).__name__)

    def _q(self, critic: nn.Module, states: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor,
           params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Twin Q values (2, B, K, 1); with ``params``, evaluated with those tensors in place of the critic's."""
        args = (states, actions)
        kwargs = {"mask": mask} if self._critic_takes_mask else {}
        q = critic(*args, **kwargs) if params is None else functional_call(critic, params, args, kwargs)
        expected = (2, *states.shape[:2], 1)
        if tuple(q.shape) != expected:
            raise ValueError(f"ODTTD3Loss: the critic must return twin Q values of shape {expected} (Q1, Q2 stacked); "
                             f"got {tuple(q.shape)}")
        return q

    # ------------------------------------------------------------------ the window shifted by one step
    def shift_window(self, td: TensorDictBase) -> TensorDictBase:
        """The window one step later, on which the target DT predicts a~_{t+1} at every position t.

        ``states' = cat(states[:, 1:], next_obs[:, -1:])``, ``rtg' = cat(rtg[:, 1:], next_rtg[:, -1:])``,
        ``actions' = cat(actions[:, 1:], 0)`` (the last action is never seen by the last prediction),
        ``timesteps' = cat(timesteps[:, 1:], timesteps[:, -1:] + 1)`` (= timesteps + 1 at every valid position),
        ``mask' = cat(mask[:, 1:], True)``. Returned under the same keys as the input window.
        """
        keys = self.tensor_keys
        states, actions, rtg, timesteps, mask = (self._get(td, key) for key in
                                                 (keys.observation, keys.action, keys.return_to_go, keys.timestep,
                                                  keys.mask))
        next_states = self._get(td, keys.next_observation)
        next_rtg = self._get(td, keys.next_return_to_go)
        for name, value, like in (("next_observation", next_states, states), ("next_return_to_go", next_rtg, rtg)):
            if value.shape != like.shape:
                raise ValueError(f"ODTTD3Loss.shift_window: {getattr(keys, name)!r} has shape {tuple(value.shape)}, "
                                 f"expected {tuple(like.shape)} like its current-step entry")
        shifted = {
            keys.observation: torch.cat((states[:, 1:], next_states[:, -1:]), dim=1),
            keys.action: torch.cat((actions[:, 1:], torch.zeros_like(actions[:, :1])), dim=1),
            keys.return_to_go: torch.cat((rtg[:, 1:], next_rtg[:, -1:]), dim=1),
            keys.timestep: torch.cat((timesteps[:, 1:], timesteps[:, -1:] + 1), dim=1),
            keys.mask: torch.cat((mask[:, 1:], torch.ones_like(mask[:, :1])), dim=1),
        }
        return TensorDict(shifted, batch_size=mask.shape[:2], device=mask.device)

    def _window_inputs(self, td: TensorDictBase) -> tuple[torch.Tensor, ...]:
        keys = self.tensor_keys
        return tuple(self._get(td, key) for key in
                     (keys.observation, keys.action, keys.return_to_go, keys.timestep, keys.mask))

    # ------------------------------------------------------------------ critic
    def target_actions(self, shifted: TensorDictBase) -> torch.Tensor:
        """Smoothed target actions (B, K, A): the target DT's prediction on the shifted window, plus clipped noise,
        clipped to the action range. A stochastic target policy is sampled, as in the original."""
        with torch.no_grad():
            prediction = self._target_policy(*self._window_inputs(shifted))
            action = prediction.rsample() if is_distribution(prediction) else prediction
            noise = (torch.randn_like(action) * self.policy_noise).clamp(-self.noise_clip, self.noise_clip)
            return (action + noise).clamp(self.action_low, self.action_high)

    def critic_loss(self, td: TensorDictBase) -> TensorDictBase:
        """``loss_critic`` (backpropagates into the critic only) and detached diagnostics ``q1_mean``, ``q2_mean``,
        ``target_mean``. Reward and terminated are (B, K, 1); padded positions contribute nothing."""
        keys = self.tensor_keys
        states, actions, mask = (self._get(td, key) for key in (keys.observation, keys.action, keys.mask))
        reward = self._get(td, keys.reward)
        terminated = self._get(td, keys.terminated)
        expected = (*mask.shape, 1)
        for key, value in ((keys.reward, reward), (keys.terminated, terminated)):
            if tuple(value.shape) != expected:
                raise ValueError(f"ODTTD3Loss.critic_loss: {key!r} must have shape {expected}; "
                                 f"got {tuple(value.shape)}")
        with torch.no_grad():
            shifted = self.shift_window(td)
            next_actions = self.target_actions(shifted)
            next_q = self._q(self._target_critic, shifted[keys.observation], next_actions, shifted[keys.mask])
            not_terminal = (~terminated.bool()).to(reward.dtype)
            target = reward + self.gamma * not_terminal * next_q.min(dim=0).values
        q = self._q(self.critic, states, actions, mask)
        squared_error = (q - target).pow(2).sum(dim=0).squeeze(-1)  # (B, K)
        has_next = td.get(keys.has_next, None)  # rows whose s' a file does not give have no target
        fitted = mask if has_next is None else mask & (has_next | terminated.squeeze(-1).bool())
        loss = torch.where(fitted, squared_error, 0.0).mean()
        return TensorDict(
            {
                "loss_critic": loss,
                "q1_mean": masked_mean(q[0].detach().squeeze(-1), mask),
                "q2_mean": masked_mean(q[1].detach().squeeze(-1), mask),
                "target_mean": masked_mean(target.squeeze(-1), mask),
            },
            batch_size=[],
        )

    # ------------------------------------------------------------------ actor
    def rl_term(self, prediction: PolicyOutput, td: TensorDictBase) -> torch.Tensor:
        """Mean over valid positions of -Q1(s_t, a^_t); gradients reach the policy, never the critic's parameters."""
        keys = self.tensor_keys
        states, mask = self._get(td, keys.observation), self._get(td, keys.mask)
        action = prediction.mean if is_distribution(prediction) else prediction
        frozen = {name: value.detach() for name, value in self.critic.named_parameters()}
        frozen.update(dict(self.critic.named_buffers()))
        q1 = self._q(self.critic, states, action, mask, params=frozen)[0].squeeze(-1)
        return masked_mean(-q1, mask)

    def actor_loss(self, td: TensorDictBase) -> TensorDictBase:
        """``loss_actor = sup_coeff * L_sup + rl_coeff * L_rl`` (backpropagate this), with the detached parts
        ``loss_sup`` and ``loss_rl``, and the supervised loss's other outputs (e.g. ``loss_temperature``)."""
        prediction = self.policy(*self._window_inputs(td))
        supervised = self.supervised_loss.loss_from_prediction(prediction, td)
        loss_sup = supervised["loss_actor"]
        if self.actor_rl_coeff > 0.0:
            loss_rl = self.rl_term(prediction, td)
            loss_actor = self.actor_sup_coeff * loss_sup + self.actor_rl_coeff * loss_rl
        else:
            with torch.no_grad():  # reported, but it neither costs a backward nor reaches any parameter
                loss_rl = self.rl_term(prediction, td)
            loss_actor = self.actor_sup_coeff * loss_sup
        out = supervised.exclude("loss_actor")
        out.update({"loss_actor": loss_actor, "loss_sup": loss_sup.detach(), "loss_rl": loss_rl.detach()})
        return out

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        out = self.critic_loss(td)
        out.update(self.actor_loss(td))
        return out

    # ------------------------------------------------------------------ targets
    def update_targets(self) -> None:
        """Polyak-average both targets toward the online networks: ``target += tau * (online - target)``."""
        polyak_update_(self._target_critic, self.critic, self.tau)
        polyak_update_(self._target_policy, self.policy, self.tau)
