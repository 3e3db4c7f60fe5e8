"""Hyper-state relabelling: layout, prior at t=0, belief carried across episodes and goal hits, legacy resets."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from rlkit.data.hyper_states import relabel_hyper_states, relabel_hyper_states_td
from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.modules.belief import BeliefEncoder

OBS_DIM, ACT_DIM, LATENT = 2, 2, 3
B, H = 4, 6  # meta-episodes of 2 episodes x 3 steps


@pytest.fixture
def encoder() -> BeliefEncoder:
    torch.manual_seed(0)
    enc = BeliefEncoder(OBS_DIM, ACT_DIM, latent_dim=LATENT, hidden_size=8, state_embed=4, action_embed=3,
                        reward_embed=2)
    with torch.no_grad():
        enc.mean_head.bias.uniform_(-1, 1)
    return enc


def data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(B, H, OBS_DIM, generator=gen), torch.randn(B, H, ACT_DIM, generator=gen),
            torch.randn(B, H, 1, generator=gen), torch.randn(B, H, OBS_DIM, generator=gen))


def test_layout_and_prior_at_t0(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data()
    out = relabel_hyper_states(encoder, obs, action, reward, next_obs)
    assert out.obs.shape == out.next_obs.shape == (B, H, OBS_DIM + 2 * LATENT)
    assert not out.obs.requires_grad
    torch.testing.assert_close(out.obs[..., :OBS_DIM], obs)
    torch.testing.assert_close(out.next_obs[..., :OBS_DIM], next_obs)
    prior_mean, prior_logvar, _ = encoder.prior(B)
    torch.testing.assert_close(out.obs[:, 0, OBS_DIM:OBS_DIM + LATENT], prior_mean.detach())
    torch.testing.assert_close(out.obs[:, 0, OBS_DIM + LATENT:], prior_logvar.detach())
    # the belief part of s+_{t+1} is that of the next row's s+
    torch.testing.assert_close(out.obs[:, 1:, OBS_DIM:], out.next_obs[:, :-1, OBS_DIM:])


def test_belief_is_carried_across_episodes_and_goal_hits(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data(1)
    terminals = torch.zeros(B, H, dtype=torch.bool)
    terminals[:, 1] = True  # a goal hit in the first episode
    out = relabel_hyper_states(encoder, obs, action, reward, next_obs, terminals=terminals)
    hidden = None
    for t in range(H):  # what evaluation does: one step at a time, never resetting within the meta-episode
        mean, logvar, hidden = encoder.step(action[:, t], reward[:, t], next_obs[:, t], hidden)
        torch.testing.assert_close(out.next_obs[:, t, OBS_DIM:], torch.cat([mean, logvar], -1).detach())
    # the second episode's first state already carries the first episode's evidence, unlike the prior
    prior = out.obs[:, 0, OBS_DIM:]
    assert (out.obs[:, 3, OBS_DIM:] - prior).abs().max() > 1e-3


def test_reset_on_terminal_reproduces_the_original(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data(2)
    terminals = torch.zeros(B, H, 1, dtype=torch.bool)
    terminals[:, 3] = True
    carried = relabel_hyper_states(encoder, obs, action, reward, next_obs)
    reset = relabel_hyper_states(encoder, obs, action, reward, next_obs, terminals=terminals, reset_on_terminal=True)
    torch.testing.assert_close(reset.next_obs[:, :3], carried.next_obs[:, :3])  # identical before the goal hit
    fresh_mean, fresh_logvar, _ = encoder.step(action[:, 3], reward[:, 3], next_obs[:, 3])  # from a zero state
    torch.testing.assert_close(reset.next_obs[:, 3, OBS_DIM:], torch.cat([fresh_mean, fresh_logvar], -1).detach())
    assert (reset.next_obs[:, 3:] - carried.next_obs[:, 3:]).abs().max() > 1e-3
    with pytest.raises(ValueError, match="needs terminals"):
        relabel_hyper_states(encoder, obs, action, reward, next_obs, reset_on_terminal=True)


def test_chunks_and_padding(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data(3)
    whole = relabel_hyper_states(encoder, obs, action, reward, next_obs)
    chunked = relabel_hyper_states(encoder, obs, action, reward, next_obs, chunk_size=3)
    torch.testing.assert_close(chunked.obs, whole.obs)
    torch.testing.assert_close(chunked.next_obs, whole.next_obs)
    mask = torch.arange(H)[None, :] < torch.tensor([6, 2, 4, 1])[:, None]
    nan_padding = torch.where(mask[..., None], next_obs, float("nan"))
    padded = relabel_hyper_states(encoder, obs, action, reward, nan_padding, mask=mask)
    torch.testing.assert_close(padded.obs[mask], whole.obs[mask])
    assert not padded.obs[~mask].any() and not padded.next_obs[~mask].any()
    holes = mask.clone()
    holes[0, 2] = False
    with pytest.raises(ValueError, match="valid step after a padded one"):
        relabel_hyper_states(encoder, obs, action, reward, next_obs, mask=holes)


def test_bad_shapes_are_named(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data()
    with pytest.raises(ValueError, match=r"reward must be \(B, H, 1\)"):
        relabel_hyper_states(encoder, obs, action, reward[..., 0], next_obs)
    with pytest.raises(ValueError, match="action must be"):
        relabel_hyper_states(encoder, obs, action[:, :3], reward, next_obs)


def test_tensordict_version_replaces_states_only(encoder: BeliefEncoder) -> None:
    obs, action, reward, next_obs = data(4)
    terminated = torch.zeros(B, H, 1, dtype=torch.bool)
    terminated[:, 2] = True
    td = TensorDict({OBS: obs, ACTION: action, REWARD: reward, NEXT_OBS: next_obs, TERMINATED: terminated},
                    batch_size=[B, H])
    out = relabel_hyper_states_td(encoder, td, reset_on_terminal=True)
    expected = relabel_hyper_states(encoder, obs, action, reward, next_obs, terminals=terminated,
                                    reset_on_terminal=True)
    torch.testing.assert_close(out[OBS], expected.obs)
    torch.testing.assert_close(out[NEXT_OBS], expected.next_obs)
    assert out[ACTION] is td[ACTION]
    assert td[OBS].shape == (B, H, OBS_DIM)  # the input is untouched
