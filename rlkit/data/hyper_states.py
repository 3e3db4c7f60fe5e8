"""BOReL's state relabelling: append a frozen belief encoder's posterior to every stored state (hyper-states).

For a stored meta-episode (s_t, a_t, r_t, s_{t+1}), t < H, the offline agent trains on

    s+_t     = [s_t,     mean_t,     logvar_t]       (mean_0, logvar_0: the prior)
    s+_{t+1} = [s_{t+1}, mean_{t+1}, logvar_{t+1}]   (the belief after the transition t)

where (mean_t, logvar_t) is the encoder's belief after the first t transitions of the meta-episode. The belief is
carried across the meta-episode's episode boundaries and goal hits, exactly as the agent's belief is at evaluation,
so the agent trains on the hyper-states it will see. (The original reset the GRU at every goal hit during
relabelling but not at evaluation, its bug 4; ``reset_on_terminal=True`` reproduces that for comparisons.)

The first part of s+_t is the stored s_t (the original copied s_{t-1}' instead, which differs from s_t where an
episode boundary resets the state).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from tensordict import TensorDictBase
from torch import nn

from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.data.task_folders import T_ACTION, T_GOAL_REACHED, T_NEXT_OBS, T_OBS, T_REWARD, T_TERMINATED


class HyperStates(NamedTuple):
    """Relabelled states: ``obs`` = s+_t and ``next_obs`` = s+_{t+1}, each (B, H, obs_dim + 2 * latent_dim)."""

    obs: torch.Tensor
    next_obs: torch.Tensor


def _check(obs: torch.Tensor, action: torch.Tensor | None, reward: torch.Tensor, next_obs: torch.Tensor) -> None:
    owner = "relabel_hyper_states"
    if reward.ndim != 3 or reward.shape[-1] != 1:
        raise ValueError(f"{owner}: reward must be (B, H, 1); got shape {tuple(reward.shape)}")
    named = {"obs": obs, "next_obs": next_obs} | ({"action": action} if action is not None else {})
    for name, value in named.items():
        if value.ndim != 3 or value.shape[:2] != reward.shape[:2]:
            raise ValueError(f"{owner}: {name} must be (B, H, dim) with (B, H) = {tuple(reward.shape[:2])} like "
                             f"reward; got shape {tuple(value.shape)}")
    if obs.shape != next_obs.shape:
        raise ValueError(f"{owner}: next_obs has shape {tuple(next_obs.shape)}; expected {tuple(obs.shape)} like obs")


def _beliefs_with_resets(
    encoder: nn.Module, action: torch.Tensor | None, reward: torch.Tensor, next_obs: torch.Tensor,
    terminals: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The original's relabelling: zero the hidden state before encoding a transition flagged terminal."""
    mean, logvar, hidden = encoder.prior(reward.shape[0])
    means, logvars = [mean], [logvar]
    for t in range(reward.shape[1]):  # one batched GRU step per time step (legacy path, comparisons only)
        hidden = torch.where(terminals[:, t, None], torch.zeros_like(hidden), hidden)
        step_action = None if action is None else action[:, t]
        mean, logvar, hidden = encoder.step(step_action, reward[:, t], next_obs[:, t], hidden)
        means.append(mean)
        logvars.append(logvar)
    return torch.stack(means, 1), torch.stack(logvars, 1)


@torch.no_grad()
def relabel_hyper_states(
    encoder: nn.Module,
    obs: torch.Tensor,
    action: torch.Tensor | None,
    reward: torch.Tensor,
    next_obs: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    terminals: torch.Tensor | None = None,
    reset_on_terminal: bool = False,
    chunk_size: int = 4096,
) -> HyperStates:
    """Hyper-states of whole meta-episodes with a frozen belief encoder (no gradients).

    Args:
        encoder: a trained :class:`rlkit.modules.belief.BeliefEncoder` (``forward(action, reward, next_obs)`` ->
            (mean, logvar, hidden) of shape (B, H+1, .); ``prior`` and ``step`` for ``reset_on_terminal``).
        obs, action, reward, next_obs: (B, H, dim) meta-episodes from their first step (reward (B, H, 1); action may
            be None for an encoder that ignores it).
        mask: optional (B, H) bool, True on real steps, padding at the end; padded rows of the output are zeros.
        terminals: (B, H) or (B, H, 1) bool, only read with ``reset_on_terminal``.
        reset_on_terminal: reproduce the original's relabelling, which reset the belief at each goal hit (bug 4).
        chunk_size: trajectories encoded at once (bounds memory).

    Returns:
        :class:`HyperStates` (obs, next_obs), each (B, H, obs_dim + 2 * latent_dim), on the inputs' device.
    """
    _check(obs, action, reward, next_obs)
    if reset_on_terminal:
        if terminals is None:
            raise ValueError("relabel_hyper_states: reset_on_terminal=True needs terminals (B, H)")
        if terminals.ndim == 3 and terminals.shape[-1] == 1:
            terminals = terminals.squeeze(-1)
        if terminals.shape != reward.shape[:2]:
            raise ValueError(f"relabel_hyper_states: terminals must be (B, H) or (B, H, 1) = "
                             f"{tuple(reward.shape[:2])}; got {tuple(terminals.shape)}")
        terminals = terminals.bool()
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"relabel_hyper_states: chunk_size must be a positive int; got {chunk_size!r}")
    means, logvars = [], []
    for start in range(0, reward.shape[0], chunk_size):
        part = slice(start, start + chunk_size)
        chunk_action = None if action is None else action[part]
        if reset_on_terminal:
            mean, logvar = _beliefs_with_resets(encoder, chunk_action, reward[part], next_obs[part], terminals[part])
        else:
            mean, logvar, _ = encoder(chunk_action, reward[part], next_obs[part])
        means.append(mean)
        logvars.append(logvar)
    mean, logvar = torch.cat(means), torch.cat(logvars)
    hyper_obs = torch.cat([obs, mean[:, :-1].to(obs.dtype), logvar[:, :-1].to(obs.dtype)], dim=-1)
    hyper_next = torch.cat([next_obs, mean[:, 1:].to(obs.dtype), logvar[:, 1:].to(obs.dtype)], dim=-1)
    if mask is not None:
        if mask.shape != reward.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(f"relabel_hyper_states: mask must be bool {tuple(reward.shape[:2])}; "
                             f"got {mask.dtype} {tuple(mask.shape)}")
        if (mask[:, 1:] & ~mask[:, :-1]).any():
            raise ValueError("relabel_hyper_states: mask has a valid step after a padded one; padding must be at "
                             "the end of each meta-episode")
        hyper_obs = torch.where(mask[..., None], hyper_obs, 0.0)  # where, not *: padding may hold NaN
        hyper_next = torch.where(mask[..., None], hyper_next, 0.0)
    return HyperStates(hyper_obs, hyper_next)


def relabel_hyper_states_td(encoder: nn.Module, td: TensorDictBase, **options) -> TensorDictBase:
    """A copy of a (B, H) meta-episode TensorDict (rlkit's keys) whose observation and ("next", "observation") are
    the hyper-states; other entries are shared, not copied. ``options`` go to :func:`relabel_hyper_states` (with
    ``reset_on_terminal`` the ("next", "terminated") entry is the terminal flag)."""
    if td.batch_dims != 2:
        raise ValueError(f"relabel_hyper_states_td: expected a TensorDict of batch (B, H); got {tuple(td.batch_size)}")
    missing = [key for key in (OBS, ACTION, REWARD, NEXT_OBS) if td.get(key, None) is None]
    if missing:
        raise KeyError(f"relabel_hyper_states_td: the TensorDict has no {missing}")
    if options.get("reset_on_terminal") and "terminals" not in options:
        options["terminals"] = td.get(TERMINATED)
    states = relabel_hyper_states(encoder, td.get(OBS), td.get(ACTION), td.get(REWARD), td.get(NEXT_OBS), **options)
    out = td.copy()
    out.set(OBS, states.obs)
    out.set(NEXT_OBS, states.next_obs)
    return out


def stored_terminals(trajectories: TensorDictBase, goal_hits_as_terminals: bool = False) -> torch.Tensor:
    """(B, H, 1) bool terminal flags of a task's stored meta-episodes (``task_folders`` keys); with
    ``goal_hits_as_terminals`` goal hits count too (the original's bug 4)."""
    terminated = trajectories.get(T_TERMINATED).bool()
    return terminated | trajectories.get(T_GOAL_REACHED).bool() if goal_hits_as_terminals else terminated


def relabel_stored_trajectories(encoder: nn.Module, trajectories: TensorDictBase, *,
                                goal_hits_as_terminals: bool = False, chunk_size: int = 4096) -> HyperStates:
    """:func:`relabel_hyper_states` of a task's stored meta-episodes (``task_folders`` keys, batch [B]); with
    ``goal_hits_as_terminals`` the belief resets at goal hits, as the original's relabelling did (bug 4)."""
    obs, action, reward, next_obs = (trajectories.get(k).float() for k in (T_OBS, T_ACTION, T_REWARD, T_NEXT_OBS))
    return relabel_hyper_states(encoder, obs, action, reward, next_obs,
                                terminals=stored_terminals(trajectories, goal_hits_as_terminals),
                                reset_on_terminal=goal_hits_as_terminals, chunk_size=chunk_size)
