"""BOReL's belief encoder and decoders: prior, per-prefix beliefs vs online steps, dropped inputs, decoders."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rlkit.modules.belief import BeliefEncoder, GridRewardDecoder, RewardDecoder, StateDecoder

OBS, ACT, LATENT, HIDDEN = 3, 2, 4, 16


def trajectories(batch: int = 3, steps: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, steps, ACT, generator=gen), torch.randn(batch, steps, 1, generator=gen),
            torch.randn(batch, steps, OBS, generator=gen))


@pytest.fixture
def encoder() -> BeliefEncoder:
    torch.manual_seed(0)
    enc = BeliefEncoder(OBS, ACT, latent_dim=LATENT, hidden_size=HIDDEN, state_embed=8, action_embed=4, reward_embed=4)
    with torch.no_grad():  # non-zero head biases, so "prior = heads on zeros" is not trivially zero
        enc.mean_head.bias.uniform_(-1, 1)
        enc.logvar_head.bias.uniform_(-1, 1)
    return enc


def test_prior_is_the_heads_on_the_zero_hidden_state(encoder: BeliefEncoder) -> None:
    mean, logvar, hidden = encoder.prior(5)
    assert hidden.shape == (5, HIDDEN) and not hidden.any()
    torch.testing.assert_close(mean, encoder.mean_head.bias.expand(5, LATENT))
    torch.testing.assert_close(logvar, encoder.logvar_head.bias.expand(5, LATENT))
    seq_mean, seq_logvar, seq_hidden = encoder(*trajectories())
    torch.testing.assert_close(seq_mean[:, 0], encoder.mean_head.bias.expand(3, LATENT))
    torch.testing.assert_close(seq_logvar[:, 0], encoder.logvar_head.bias.expand(3, LATENT))
    assert not seq_hidden[:, 0].any()


def test_forward_shapes(encoder: BeliefEncoder) -> None:
    mean, logvar, hidden = encoder(*trajectories(batch=2, steps=9))
    assert mean.shape == logvar.shape == (2, 10, LATENT)
    assert hidden.shape == (2, 10, HIDDEN)


def test_every_prefix_equals_stepping_online(encoder: BeliefEncoder) -> None:
    action, reward, next_obs = trajectories()
    mean, logvar, hidden_seq = encoder(action, reward, next_obs)
    hidden = None
    for t in range(action.shape[1]):
        step_mean, step_logvar, hidden = encoder.step(action[:, t], reward[:, t], next_obs[:, t], hidden)
        torch.testing.assert_close(step_mean, mean[:, t + 1])
        torch.testing.assert_close(step_logvar, logvar[:, t + 1])
        torch.testing.assert_close(hidden, hidden_seq[:, t + 1])


def test_a_given_hidden_state_continues_the_meta_episode(encoder: BeliefEncoder) -> None:
    action, reward, next_obs = trajectories(steps=8)
    whole_mean, _, whole_hidden = encoder(action, reward, next_obs)
    _, _, first = encoder(action[:, :5], reward[:, :5], next_obs[:, :5])
    second_mean, _, _ = encoder(action[:, 5:], reward[:, 5:], next_obs[:, 5:], hidden=first[:, -1])
    torch.testing.assert_close(second_mean, whole_mean[:, 5:])  # index 0 of the second call = belief after 5 steps


def test_gru_is_orthogonal_with_zero_biases(encoder: BeliefEncoder) -> None:
    w_hh = encoder.gru.weight_hh_l0  # (3 * hidden, hidden), orthonormal columns
    torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(HIDDEN), atol=1e-5, rtol=0)
    assert not encoder.gru.bias_ih_l0.any() and not encoder.gru.bias_hh_l0.any()


def test_embed_size_zero_drops_the_input() -> None:
    torch.manual_seed(0)
    enc = BeliefEncoder(OBS, ACT, latent_dim=LATENT, hidden_size=HIDDEN, action_embed=0, state_embed=8, reward_embed=4)
    assert enc.action_embedding is None and enc.input_size == 12
    assert enc.gru.input_size == 12
    action, reward, next_obs = trajectories()
    with_actions, _, _ = enc(action, reward, next_obs)
    other_actions, _, _ = enc(torch.randn_like(action) * 10, reward, next_obs)
    without, _, _ = enc(None, reward, next_obs)
    torch.testing.assert_close(with_actions, other_actions)
    torch.testing.assert_close(with_actions, without)


def test_bad_inputs_are_named(encoder: BeliefEncoder) -> None:
    action, reward, next_obs = trajectories()
    with pytest.raises(ValueError, match="next_obs must have last dim 3"):
        encoder(action, reward, next_obs[..., :2])
    with pytest.raises(ValueError, match=r"action has leading shape \(3, 6\)"):
        encoder(action[:, :6], reward, next_obs)
    with pytest.raises(ValueError, match="action is None"):
        encoder(None, reward, next_obs)
    with pytest.raises(ValueError, match=r"hidden must have shape \(3, 16\)"):
        encoder(action, reward, next_obs, hidden=torch.zeros(3, 8))
    with pytest.raises(ValueError, match="all embedding sizes are 0"):
        BeliefEncoder(OBS, ACT, state_embed=0, action_embed=0, reward_embed=0)


def _reward_reference(dec: RewardDecoder, z: torch.Tensor, obs, action, next_obs) -> torch.Tensor:
    """The decoder written out: MLP(cat(z, relu(Ws s'), relu(Wa a), relu(Ws s))) on already-broadcast inputs."""
    feats = [F.relu(dec.state_embedding(next_obs)), F.relu(dec.action_embedding(action)),
             F.relu(dec.state_embedding(obs))]
    hidden = F.linear(torch.cat([z, *feats], -1), dec.net.first.weight, dec.net.first.bias)
    return dec.net.rest(hidden)


def test_reward_decoder_broadcast_equals_concatenation() -> None:
    torch.manual_seed(0)
    dec = RewardDecoder(LATENT, OBS, ACT, use_obs=True, use_action=True, state_embed=6, action_embed=5)
    z = torch.randn(2, 4, 1, LATENT)              # (B, T, 1, L)
    obs, action, next_obs = torch.randn(2, 1, 5, OBS), torch.randn(2, 1, 5, ACT), torch.randn(2, 1, 5, OBS)
    out = dec(z, obs, action, next_obs)
    assert out.shape == (2, 4, 5, 1)
    shape = (2, 4, 5)
    expected = _reward_reference(dec, z.expand(*shape, LATENT), obs.expand(*shape, OBS), action.expand(*shape, ACT),
                                 next_obs.expand(*shape, OBS))
    torch.testing.assert_close(out, expected)
    reward = torch.randn(2, 1, 5, 1)
    torch.testing.assert_close(dec.nll(z, obs, action, next_obs, reward), (expected - reward).pow(2).squeeze(-1))


def test_reward_decoder_of_next_state_only_ignores_state_and_action() -> None:
    torch.manual_seed(0)
    dec = RewardDecoder(LATENT, OBS)
    z, next_obs = torch.randn(6, LATENT), torch.randn(6, OBS)
    assert dec.net.first.in_features == LATENT + 32
    torch.testing.assert_close(dec(z, torch.randn(6, OBS), torch.randn(6, ACT), next_obs), dec(z, None, None, next_obs))


def test_grid_decoder_scores_the_reached_cell() -> None:
    torch.manual_seed(0)
    dec = GridRewardDecoder(LATENT)
    assert dec.net.first.out_features == 32 and dec.num_cells == 25
    z = torch.randn(2, LATENT)
    # (x, y, done-flag): cell x + 5 y -> (3, 1) is 8, (0, 4) is 20
    next_obs = torch.tensor([[3.0, 1.0, 0.0], [0.0, 4.0, 1.0]])
    assert dec.cell_index(next_obs).tolist() == [8, 20]
    reward = torch.tensor([[1.0], [-0.1]])
    logits = dec(z)
    expected = torch.stack([F.softplus(-logits[0, 8]), F.softplus(logits[1, 20])])  # -log p(goal), -log(1 - p)
    torch.testing.assert_close(dec.nll(z, None, None, next_obs, reward), expected)
    with pytest.raises(ValueError, match=r"position \[5.0, 0.0\] is outside the 5x5 grid"):
        dec.cell_index(torch.tensor([[5.0, 0.0]]))


def test_grid_decoder_broadcasts_latents_against_steps() -> None:
    torch.manual_seed(0)
    dec = GridRewardDecoder(LATENT)
    z = torch.randn(2, 3, 1, LATENT)
    next_obs = torch.randint(0, 5, (2, 1, 4, 2)).float()
    reward = torch.where(torch.rand(2, 1, 4, 1) > 0.5, 1.0, -0.1)
    nll = dec.nll(z, None, None, next_obs, reward)
    assert nll.shape == (2, 3, 4)
    b, t, j = 1, 2, 3
    single = dec.nll(z[b, t, 0], None, None, next_obs[b, 0, j], reward[b, 0, j])
    torch.testing.assert_close(nll[b, t, j], single)


def test_state_decoder_squared_error() -> None:
    torch.manual_seed(0)
    dec = StateDecoder(LATENT, OBS, ACT)
    z, obs, action, next_obs = torch.randn(2, 3, 1, LATENT), torch.randn(2, 1, 4, OBS), torch.randn(2, 1, 4, ACT), \
        torch.randn(2, 1, 4, OBS)
    prediction = dec(z, obs, action)
    assert prediction.shape == (2, 3, 4, OBS)
    torch.testing.assert_close(dec.nll(z, obs, action, next_obs), (prediction - next_obs).pow(2).sum(-1))
