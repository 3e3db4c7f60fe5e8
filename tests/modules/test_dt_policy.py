"""DT policies and the tanh-Gaussian: head ranges, change-of-variables density, mean, rsample gradients."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, TanhTransform, TransformedDistribution

from rlkit.modules.distributions import TanhGaussian
from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy
from rlkit.modules.transformer import DecisionTransformer

S, A, E = 3, 2, 16


def trunk() -> DecisionTransformer:
    torch.manual_seed(0)
    return DecisionTransformer(S, A, embed_dim=E, n_layer=1, n_head=2, dropout=0.0).eval()


def window(batch: int = 3, length: int = 4) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(2)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, :2] = False
    return (
        torch.randn(batch, length, S, generator=gen),
        torch.rand(batch, length, A, generator=gen) * 2 - 1,
        torch.randn(batch, length, 1, generator=gen),
        torch.arange(length).repeat(batch, 1),
        mask,
    )


def test_tanh_gaussian_log_prob_matches_hand_computation():
    loc = torch.tensor([[0.3, -1.2], [0.0, 2.0]], dtype=torch.float64)
    scale = torch.tensor([[0.5, 1.5], [0.1, 0.7]], dtype=torch.float64)
    actions = torch.tensor([[0.2, -0.9], [0.05, 0.99]], dtype=torch.float64)
    expected = torch.zeros(2, dtype=torch.float64)
    for row in range(2):
        for dim in range(2):
            mu, sigma, a = loc[row, dim].item(), scale[row, dim].item(), actions[row, dim].item()
            u = 0.5 * math.log((1 + a) / (1 - a))
            gaussian = -0.5 * ((u - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
            expected[row] += gaussian - math.log(1 - a * a)  # |da/du| = 1 - tanh(u)^2 = 1 - a^2
    dist = TanhGaussian(loc, scale)
    torch.testing.assert_close(dist.log_prob(actions), expected)
    # same as torch's own transformed distribution
    reference = TransformedDistribution(Normal(loc, scale), [TanhTransform()]).log_prob(actions).sum(-1)
    torch.testing.assert_close(dist.log_prob(actions), reference)


def test_tanh_gaussian_density_integrates_to_one_and_entropy_estimate_is_right():
    dist = TanhGaussian(torch.tensor([[0.4]], dtype=torch.float64), torch.tensor([[0.8]], dtype=torch.float64))
    grid = torch.linspace(-1 + 1e-7, 1 - 1e-7, 200_001, dtype=torch.float64)
    density = dist.log_prob(grid.view(-1, 1, 1)).exp().view(-1)
    assert abs(torch.trapezoid(density, grid).item() - 1.0) < 1e-4
    entropy = -torch.trapezoid(density * density.clamp_min(1e-300).log(), grid).item()
    torch.manual_seed(0)
    estimate = dist.entropy_estimate(n=20_000).item()
    assert abs(estimate - entropy) < 0.02


def test_tanh_gaussian_mean_sample_shapes_and_boundary_actions():
    loc, scale = torch.randn(4, 5, A), torch.rand(4, 5, A) + 0.1
    dist = TanhGaussian(loc, scale)
    assert dist.batch_shape == (4, 5) and dist.event_shape == (A,)
    torch.testing.assert_close(dist.mean, torch.tanh(loc))
    torch.testing.assert_close(dist.mode, torch.tanh(loc))
    sample = dist.rsample()
    assert sample.shape == (4, 5, A) and sample.abs().max() < 1
    assert dist.rsample(torch.Size([7])).shape == (7, 4, 5, A)
    assert dist.log_prob(sample).shape == (4, 5)
    assert dist.entropy_estimate(3).shape == (4, 5)
    assert torch.isfinite(dist.log_prob(torch.ones(4, 5, A))).all()  # dataset actions at the bound
    with pytest.raises(ValueError, match="same shape"):
        TanhGaussian(loc, scale[..., :1])


def test_rsample_and_entropy_have_gradients():
    loc = torch.zeros(3, A, requires_grad=True)
    log_scale = torch.zeros(3, A, requires_grad=True)
    dist = TanhGaussian(loc, log_scale.exp())
    (dist.rsample().sum() + dist.entropy_estimate(2).sum()).backward()
    assert loc.grad.abs().sum() > 0 and log_scale.grad.abs().sum() > 0


def test_deterministic_policy_is_tanh_of_linear_head():
    policy = DeterministicDTPolicy(trunk(), A)
    inputs = window()
    actions = policy(*inputs)
    assert actions.shape == (3, 4, A)
    expected = torch.tanh(policy.head(policy.transformer(*inputs)))
    torch.testing.assert_close(actions, expected)
    assert actions.abs().max() < 1
    torch.testing.assert_close(policy.predict_last(*inputs), actions[:, -1])
    assert policy.act_dim == A and isinstance(policy.transformer, DecisionTransformer)


def test_deterministic_head_saturates_inside_the_bounds():
    policy = DeterministicDTPolicy(trunk(), A)
    with torch.no_grad():
        policy.head.weight.mul_(100.0)
    actions = policy(*window())
    assert actions.abs().max() <= 1.0 and actions.abs().max() > 0.99


def test_stochastic_policy_distribution_and_predict_last():
    policy = StochasticDTPolicy(trunk(), A)
    inputs = window()
    dist = policy(*inputs)
    assert isinstance(dist, TanhGaussian)
    assert dist.batch_shape == (3, 4) and dist.event_shape == (A,)
    mu = policy.head(policy.transformer(*inputs))[..., :A]
    torch.testing.assert_close(dist.mean, torch.tanh(mu))
    torch.testing.assert_close(policy.predict_last(*inputs), dist.mean[:, -1])
    # the supervised NLL and the entropy both reach the transformer
    loss = -dist.log_prob(inputs[1]).mean() - dist.entropy_estimate().mean()
    loss.backward()
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0


def test_stochastic_log_std_stays_in_its_bounds():
    policy = StochasticDTPolicy(trunk(), A, log_std_min=-5.0, log_std_max=2.0)
    for sign in (1.0, -1.0):
        with torch.no_grad():
            policy.head.weight.fill_(0.0)
            policy.head.bias.fill_(sign * 50.0)
        scale = policy(*window()).scale
        bound = 2.0 if sign > 0 else -5.0
        torch.testing.assert_close(scale.log(), torch.full_like(scale, bound))
    with torch.no_grad():
        policy.head.bias.fill_(0.0)
    torch.testing.assert_close(policy(*window()).scale.log(), torch.full((3, 4, A), -1.5))  # the midpoint


def test_policy_rejects_mismatched_action_dim():
    with pytest.raises(ValueError, match="act_dim"):
        DeterministicDTPolicy(trunk(), A + 1)
    with pytest.raises(ValueError, match="log_std_min"):
        StochasticDTPolicy(trunk(), A, log_std_min=1.0, log_std_max=0.0)
