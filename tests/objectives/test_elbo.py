"""BeliefELBOLoss against a per-(trajectory, prefix, step) loop, gradients, padding, options, TensorDict entry."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict
from torch.distributions import Normal, kl_divergence

from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD
from rlkit.modules.belief import BeliefEncoder, GridRewardDecoder, RewardDecoder, StateDecoder
from rlkit.objectives.elbo import BeliefELBOLoss, gaussian_kl

OBS_DIM, ACT_DIM, LATENT = 2, 2, 3
B, H = 3, 5
SEED = 123


def make_loss(**options) -> BeliefELBOLoss:
    torch.manual_seed(0)
    encoder = BeliefEncoder(OBS_DIM, ACT_DIM, latent_dim=LATENT, hidden_size=8, state_embed=4, action_embed=3,
                            reward_embed=2)
    reward_decoder = RewardDecoder(LATENT, OBS_DIM, ACT_DIM, use_obs=True, use_action=True, hidden_sizes=(6, 6),
                                   state_embed=4, action_embed=3)
    state_decoder = StateDecoder(LATENT, OBS_DIM, ACT_DIM, hidden_sizes=(6,), state_embed=4, action_embed=3)
    return BeliefELBOLoss(encoder, reward_decoder, state_decoder, **options)


def batch(seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    obs = torch.randn(B, H, OBS_DIM, generator=gen)
    return (obs, torch.randn(B, H, ACT_DIM, generator=gen), torch.randn(B, H, 1, generator=gen),
            torch.randn(B, H, OBS_DIM, generator=gen))


def naive_elbo(loss: BeliefELBOLoss, obs, action, reward, next_obs, lengths=None, *, mean_over_steps=False,
               past_only=False, prior_kl=True):
    """The ELBO written as loops over trajectories b, prefixes t <= L_b and decoded steps j < L_b, one row at a time.

    Draws the latent noise as one (B, H+1, L) normal tensor after seeding with SEED, as the loss does.
    """
    lengths = lengths or [H] * B
    torch.manual_seed(SEED)
    eps = torch.randn(B, H + 1, LATENT)
    rec_r, rec_s, kl = [], [], []
    for b in range(B):
        mean, logvar, _ = loss.encoder(action[b:b + 1], reward[b:b + 1], next_obs[b:b + 1])
        mean, logvar = mean[0], logvar[0]
        r_b = s_b = kl_b = 0.0
        for t in range(lengths[b] + 1):
            z = mean[t] + (0.5 * logvar[t]).exp() * eps[b, t]
            steps = range(min(t, lengths[b])) if past_only else range(lengths[b])
            r_t = s_t = 0.0
            for j in steps:
                predicted = loss.reward_decoder(z, obs[b, j], action[b, j], next_obs[b, j])
                r_t = r_t + (predicted - reward[b, j]).pow(2).sum()
                s_t = s_t + (loss.state_decoder(z, obs[b, j], action[b, j]) - next_obs[b, j]).pow(2).sum()
            count = max(len(steps), 1) if mean_over_steps else 1
            r_b, s_b = r_b + r_t / count, s_b + s_t / count
            if t > 0 or prior_kl:
                ref = Normal(torch.zeros(LATENT), torch.ones(LATENT)) if t == 0 else \
                    Normal(mean[t - 1], (0.5 * logvar[t - 1]).exp())
                kl_b = kl_b + kl_divergence(Normal(mean[t], (0.5 * logvar[t]).exp()), ref).sum()
        rec_r.append(r_b)
        rec_s.append(s_b)
        kl.append(kl_b)
    return torch.stack(rec_r).mean(), torch.stack(rec_s).mean(), torch.stack(kl).mean()


def run(loss: BeliefELBOLoss, *data, mask=None) -> TensorDict:
    torch.manual_seed(SEED)
    return loss.loss_terms(*data, mask)


def assert_terms(out: TensorDict, expected: tuple[torch.Tensor, ...], loss: BeliefELBOLoss) -> None:
    rec_r, rec_s, kl = expected
    torch.testing.assert_close(out["reconstruction_reward"], rec_r.detach())
    torch.testing.assert_close(out["reconstruction_state"], rec_s.detach())
    torch.testing.assert_close(out["kl"], kl.detach())
    torch.testing.assert_close(out["loss_kl"], loss.kl_coef * kl.detach())


def test_matches_the_double_loop() -> None:
    loss = make_loss()
    data = batch()
    out = run(loss, *data)
    assert_terms(out, naive_elbo(loss, *data), loss)
    total = out["loss_reward"] + out["loss_state"] + out["loss_kl"]
    torch.testing.assert_close(total, out["reconstruction_reward"] + out["reconstruction_state"] + 0.05 * out["kl"])


def test_mean_over_decoded_steps_matches_the_loop() -> None:
    loss = make_loss(decode_reduction="mean")
    data = batch(1)
    assert_terms(run(loss, *data), naive_elbo(loss, *data, mean_over_steps=True), loss)


def test_decode_past_only_and_no_prior_kl_match_the_loop() -> None:
    loss = make_loss(decode_past_only=True, include_prior_kl=False)
    data = batch(2)
    assert_terms(run(loss, *data), naive_elbo(loss, *data, past_only=True, prior_kl=False), loss)


def test_kl_to_standard_normal_sums_each_belief_against_n01() -> None:
    loss = make_loss(kl_to_standard_normal=True)
    _, action, reward, next_obs = batch()
    mean, logvar, _ = loss.encoder(action, reward, next_obs)
    expected = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum((1, 2)).mean()
    torch.testing.assert_close(run(loss, *batch())["kl"], expected.detach())


def test_gaussian_kl_hand_values() -> None:
    # KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, e^2) || N(0, 1)) = (e^2 - 1 - 2) / 2; summed over dims
    value = gaussian_kl(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), torch.zeros(2), torch.zeros(2))
    torch.testing.assert_close(value, torch.tensor(0.5 + (torch.e ** 2 - 3.0) / 2))


def test_gradients_reach_encoder_and_decoders() -> None:
    loss = make_loss()
    out = run(loss, *batch())
    (out["loss_reward"] + out["loss_state"] + out["loss_kl"]).backward()
    for name, param in loss.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_padding_is_ignored_and_matches_shorter_trajectories() -> None:
    loss = make_loss()
    obs, action, reward, next_obs = batch(3)
    lengths = [H, 2, 4]
    mask = torch.arange(H)[None, :] < torch.tensor(lengths)[:, None]
    out = run(loss, obs, action, reward, next_obs, mask=mask)
    assert_terms(out, naive_elbo(loss, obs, action, reward, next_obs, lengths), loss)
    # whatever sits in the padding changes nothing, neither the terms nor the gradients
    noise = torch.randn(B, H, 1) * 100
    pad = ~mask[..., None]
    other = [torch.where(pad, x + noise, x) for x in (obs, action, reward, next_obs)]
    out_other = run(loss, *other, mask=mask)
    for key in sorted(out.keys()):
        torch.testing.assert_close(out_other[key], out[key])
    params = list(loss.parameters())
    grads = torch.autograd.grad(out["loss_reward"] + out["loss_state"] + out["loss_kl"], params)
    grads_other = torch.autograd.grad(out_other["loss_reward"] + out_other["loss_state"] + out_other["loss_kl"], params)
    for g, g_other in zip(grads, grads_other):
        torch.testing.assert_close(g, g_other)


def test_mask_with_holes_is_rejected() -> None:
    loss = make_loss()
    mask = torch.ones(B, H, dtype=torch.bool)
    mask[1, 2] = False
    with pytest.raises(ValueError, match="mask row 1 has a valid step after a padded one"):
        loss.loss_terms(*batch(), mask)
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        loss.loss_terms(*batch(), mask.float())


def test_bad_shapes_are_named() -> None:
    loss = make_loss()
    obs, action, reward, next_obs = batch()
    with pytest.raises(ValueError, match=r"reward must be \(B, H, 1\)"):
        loss.loss_terms(obs, action, reward.expand(B, H, 2), next_obs)
    with pytest.raises(ValueError, match=r"action has batch \(3, 4\)"):
        loss.loss_terms(obs, action[:, :4], reward, next_obs)
    with pytest.raises(ValueError, match="give a reward_decoder"):
        BeliefELBOLoss(loss.encoder)


def test_forward_reads_the_tensordict_keys() -> None:
    loss = make_loss()
    obs, action, reward, next_obs = batch()
    td = TensorDict({OBS: obs, ACTION: action, REWARD: reward, NEXT_OBS: next_obs}, batch_size=[B, H])
    torch.manual_seed(SEED)
    from_td = loss(td)
    expected = run(loss, obs, action, reward, next_obs)
    for key in sorted(expected.keys()):
        torch.testing.assert_close(from_td[key], expected[key])
    loss.set_keys(reward="r")
    with pytest.raises(KeyError, match="no entry"):
        loss(td)


def test_grid_decoder_in_the_elbo() -> None:
    torch.manual_seed(0)
    encoder = BeliefEncoder(3, 5, latent_dim=LATENT, hidden_size=8, action_embed=0, reward_embed=8)
    loss = BeliefELBOLoss(encoder, GridRewardDecoder(LATENT))
    gen = torch.Generator().manual_seed(0)
    next_obs = torch.cat([torch.randint(0, 5, (B, H, 2), generator=gen).float(), torch.zeros(B, H, 1)], -1)
    reward = torch.where(next_obs[..., :2].eq(torch.tensor([2.0, 3.0])).all(-1, keepdim=True), 1.0, -0.1)
    action = torch.nn.functional.one_hot(torch.randint(0, 5, (B, H), generator=gen), 5).float()
    out = loss.loss_terms(next_obs, action, reward, next_obs)
    assert set(out.keys()) == {"loss_reward", "reconstruction_reward", "loss_kl", "kl"}
    # untrained logits near 0: BCE near log 2 for each of the (H+1) * H decoded pairs of each trajectory
    assert abs(out["reconstruction_reward"].item() / ((H + 1) * H) - 0.693) < 0.2


def test_decode_chunks_change_nothing_but_speed() -> None:
    data = batch(5)
    whole = make_loss()
    chunked = make_loss(decode_chunk_size=2)  # same seed, same parameters; chunks of 2 + 1 trajectories
    out_whole, out_chunked = run(whole, *data), run(chunked, *data)
    for key in sorted(out_whole.keys()):
        torch.testing.assert_close(out_chunked[key], out_whole[key])
    total = lambda out: out["loss_reward"] + out["loss_state"] + out["loss_kl"]
    grads = torch.autograd.grad(total(out_whole), list(whole.parameters()))
    grads_chunked = torch.autograd.grad(total(out_chunked), list(chunked.parameters()))
    for g, g_chunked in zip(grads, grads_chunked):
        torch.testing.assert_close(g_chunked, g)
    with pytest.raises(ValueError, match="decode_chunk_size"):
        make_loss(decode_chunk_size=0)


def test_auto_chunks_follow_the_pair_budget() -> None:
    loss = make_loss()
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert loss.chunk_size_for(64, 121, 120, cpu) == 1      # semi-circle: 14,520 pairs per trajectory
    assert loss.chunk_size_for(64, 61, 60, cpu) == 4        # grid: 3,660 pairs per trajectory
    assert loss.chunk_size_for(64, 121, 120, cuda) == 64    # one broadcast on a GPU
    assert make_loss(decode_chunk_size=None).chunk_size_for(64, 121, 120, cpu) == 64
    assert make_loss(decode_chunk_size=3).chunk_size_for(64, 121, 120, cuda) == 3
