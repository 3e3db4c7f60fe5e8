import math

import pytest
import torch
from torch import nn

from rlkit.modules.goal_prior import GaussianGoalPolicy, GoalPrior, PTGMTrunk


def _set_head(policy: GaussianGoalPolicy, mean: list[float], log_std: list[float]) -> None:
    head = policy.trunk.net[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor(mean + log_std))


def test_trunk_has_the_original_layout():
    layers = list(PTGMTrunk(60, 50).net)
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds == ["Linear", "LeakyReLU"] + ["Linear", "BatchNorm1d", "LeakyReLU"] * 3 + ["Linear"]
    assert all(layer.negative_slope == 0.2 for layer in layers if isinstance(layer, nn.LeakyReLU))
    assert (layers[0].in_features, layers[0].out_features, layers[-1].out_features) == (60, 128, 50)


def test_goal_prior_keeps_leading_dims_and_acts_on_a_batch_of_one_in_eval():
    prior = GoalPrior(5, 7, hidden=16)
    assert prior(torch.randn(4, 3, 5)).shape == (4, 3, 7)  # BatchNorm over the flattened 12 rows
    prior.eval()
    single = torch.randn(1, 5)
    torch.testing.assert_close(prior(single), prior(single.expand(6, 5))[:1])  # eval: rows independent
    with pytest.raises(ValueError, match=r"expected inputs \(\.\.\., 5\); got shape \(2, 4\)"):
        prior(torch.zeros(2, 4))


def test_log_prob_matches_the_gaussian_density_by_hand():
    policy = GaussianGoalPolicy(3, 2, 2, hidden=8).eval()
    _set_head(policy, [0.5, -1.0], [math.log(2.0), 0.0])
    action = torch.tensor([[1.5, -1.0]])
    expected = (-0.5 * (1.0 / 2.0) ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi)) + (-0.5 * math.log(2 * math.pi))
    got = policy.log_prob(torch.zeros(1, 3), torch.zeros(1, 2), action)
    torch.testing.assert_close(got, torch.tensor([expected]))
    torch.testing.assert_close(policy.mode(torch.zeros(1, 3), torch.zeros(1, 2)), torch.tensor([[0.5, -1.0]]))


def test_log_std_is_clamped_and_there_is_no_tanh():
    policy = GaussianGoalPolicy(3, 2, 2, hidden=8).eval()
    _set_head(policy, [5.0, -7.0], [30.0, -30.0])
    mean, log_std = policy(torch.zeros(1, 3), torch.zeros(1, 2))
    torch.testing.assert_close(mean, torch.tensor([[5.0, -7.0]]))  # outside [-1, 1]: no squashing
    torch.testing.assert_close(log_std, torch.tensor([[2.0, -10.0]]))


def test_samples_follow_the_distribution_and_are_reproducible():
    policy = GaussianGoalPolicy(3, 2, 2, hidden=8).eval()
    _set_head(policy, [1.0, -2.0], [math.log(0.5), math.log(3.0)])
    obs, goal = torch.zeros(20000, 3), torch.zeros(20000, 2)
    a = policy.sample(obs, goal, torch.Generator().manual_seed(0))
    b = policy.sample(obs, goal, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    torch.testing.assert_close(a.mean(0), torch.tensor([1.0, -2.0]), atol=0.06, rtol=0)
    torch.testing.assert_close(a.std(0), torch.tensor([0.5, 3.0]), atol=0.06, rtol=0)


def test_policy_checks_shapes_and_fits_a_goal_conditioned_target():
    policy = GaussianGoalPolicy(3, 2, 1, hidden=32)
    with pytest.raises(ValueError, match=r"observation \(\.\.\., 3\) and goal \(\.\.\., 2\)"):
        policy(torch.zeros(4, 3), torch.zeros(5, 2))
    # a = goal[0] - obs[0] is learnable by NLL in a few hundred steps
    torch.manual_seed(0)
    obs, goal = torch.randn(512, 3), torch.randn(512, 2)
    action = (goal[:, :1] - obs[:, :1])
    optim = torch.optim.Adam(policy.parameters(), lr=3e-3)
    for _ in range(300):
        loss = -policy.log_prob(obs, goal, action).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
    policy.eval()
    error = (policy.mode(obs, goal) - action).abs().mean()
    assert error < 0.1
