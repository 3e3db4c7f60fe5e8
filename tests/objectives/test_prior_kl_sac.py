import math

import pytest
import torch
from tensordict import TensorDict
from torch import nn

from rlkit.modules.goal_prior import GoalPrior
from rlkit.objectives.prior_kl_sac import PriorKLDiscreteSACLoss

OBS, K, B = 3, 4, 6


class _Constant(nn.Module):
    """obs -> fixed per-code values, as a parameter (critic or logits stand-in)."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = nn.Parameter(torch.tensor(values))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.values.expand(*obs.shape[:-1], -1)


def _batch(seed: int = 0) -> TensorDict:
    generator = torch.Generator().manual_seed(seed)
    return TensorDict({
        "observation": torch.randn(B, OBS, generator=generator),
        "action": torch.randint(K, (B,), generator=generator),
        "next": {"observation": torch.randn(B, OBS, generator=generator),
                 "reward": torch.randn(B, 1, generator=generator),
                 "terminated": torch.tensor([True, False, False, True, False, False])[:, None],
                 "truncated": torch.tensor([False, True, False, False, True, False])[:, None]},
    }, batch_size=[B])


def _loss(**kwargs) -> PriorKLDiscreteSACLoss:
    torch.manual_seed(0)
    prior = nn.Linear(OBS, K)
    return PriorKLDiscreteSACLoss(prior, OBS, K, hidden_sizes=(16, 16), **kwargs)


@pytest.mark.parametrize("direction", ["pi_prior", "prior_pi"])
def test_analytic_kl_matches_a_brute_force_sum(direction):
    loss = _loss(kl_direction=direction)
    log_pi = torch.randn(5, K).log_softmax(-1)
    log_p = torch.randn(5, K).log_softmax(-1)
    expected = torch.zeros(5)
    for row in range(5):
        for code in range(K):
            pi, p = math.exp(log_pi[row, code]), math.exp(log_p[row, code])
            expected[row] += pi * math.log(pi / p) if direction == "pi_prior" else p * math.log(p / pi)
    torch.testing.assert_close(loss.kl(log_pi, log_p), expected)
    # the two directions differ in general, and each is zero when pi == p
    other = "prior_pi" if direction == "pi_prior" else "pi_prior"
    assert not torch.allclose(_loss(kl_direction=other).kl(log_pi, log_p), expected)
    torch.testing.assert_close(loss.kl(log_p, log_p), torch.zeros(5))


def test_kl_clamp_caps_each_state():
    loss = _loss(kl_direction="prior_pi", kl_clamp=1.0)
    log_p = torch.tensor([[0.0, -100.0]]).log_softmax(-1)
    log_pi = torch.tensor([[-100.0, 0.0]]).log_softmax(-1)
    assert loss.kl(log_pi, log_p).item() == 1.0


def test_policy_starts_as_a_copy_of_a_frozen_prior():
    prior = GoalPrior(OBS, K, hidden=8).eval()
    loss = PriorKLDiscreteSACLoss(prior, OBS, K, hidden_sizes=(8,))
    obs = torch.randn(5, OBS)
    torch.testing.assert_close(loss.policy_log_probs(obs), loss.prior_log_probs(obs))
    assert loss.policy is not prior and loss.prior_network is not prior
    assert all(p.requires_grad for p in prior.parameters())  # the caller's module is untouched
    assert not any(p.requires_grad for p in loss.prior_network.parameters())
    trainable = {id(p) for p in loss.parameters() if p.requires_grad}
    assert trainable.isdisjoint(id(p) for p in loss.prior_network.parameters())
    loss.train()  # prior, target critics and (by default) the policy's BatchNorm stay in eval mode
    assert not loss.prior_network.training and not loss.target_critics.training
    assert not any(m.training for m in loss.policy.modules() if isinstance(m, nn.BatchNorm1d))
    out = loss(_batch())
    assert out["kl"].abs() < 1e-6


def test_with_alpha_zero_the_policy_loss_is_minus_the_expected_min_q():
    loss = _loss(alpha_init=0.0, learn_alpha=False)
    loss.critics = nn.ModuleList([_Constant([1.0, 2.0, 3.0, 4.0]), _Constant([2.0, 0.0, 5.0, 1.0])])
    obs = _batch()["observation"]
    pi = loss.policy_log_probs(obs).exp()
    expected = -(pi * torch.tensor([1.0, 0.0, 3.0, 1.0])).sum(-1).mean()
    torch.testing.assert_close(loss.actor_loss(_batch())["loss_actor"], expected)
    assert loss(_batch())["loss_alpha"] == 0


@pytest.mark.parametrize("direction", ["pi_prior", "prior_pi"])
def test_policy_loss_adds_alpha_times_the_chosen_kl(direction):
    loss = _loss(kl_direction=direction, alpha_init=0.5)
    obs = _batch()["observation"]
    log_pi, log_p = loss.policy_log_probs(obs), loss.prior_log_probs(obs)
    min_q = loss.q_values(obs).min(0).values
    kl = loss.kl(log_pi, log_p)
    expected = (0.5 * kl - (log_pi.exp() * min_q).sum(-1)).mean()
    torch.testing.assert_close(loss.actor_loss(_batch())["loss_actor"], expected)
    if direction == "pi_prior":  # the per-action form sum_a pi (alpha log(pi/p) - min Q)
        per_action = (log_pi.exp() * (0.5 * (log_pi - log_p) - min_q)).sum(-1).mean()
        torch.testing.assert_close(per_action, expected)


def test_gradients_reach_the_policy_critics_and_alpha_but_not_the_prior():
    loss = _loss(target_kl=5.0)
    with torch.no_grad():  # move the policy away from the prior so the KL is not zero
        for p in loss.policy.parameters():
            p.add_(torch.randn_like(p))
    out = loss(_batch())
    (out["loss_actor"] + out["loss_qvalue"] + out["loss_alpha"]).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in loss.policy.parameters())
    assert all(p.grad is not None for p in loss.critics.parameters())
    assert loss.log_alpha.grad is not None
    # d/dlog_alpha of alpha * (delta - KL) = alpha * (delta - KL)
    torch.testing.assert_close(loss.log_alpha.grad, out["alpha"] * (5.0 - out["kl"]))
    assert all(p.grad is None for p in loss.prior_network.parameters())
    assert all(p.grad is None for p in loss.target_critics.parameters())
    # the actor loss alone leaves the critics without gradient (Q is detached there)
    loss.zero_grad(set_to_none=True)
    loss.actor_loss(_batch())["loss_actor"].backward()
    assert all(p.grad is None for p in loss.critics.parameters())


@pytest.mark.parametrize("direction", ["pi_prior", "prior_pi"])
def test_target_uses_target_critics_and_only_terminated(direction):
    loss = _loss(gamma=0.9, alpha_init=0.5, kl_direction=direction)
    loss.target_critics = nn.ModuleList([_Constant([1.0, 2.0, 3.0, 4.0]), _Constant([0.0, 5.0, 1.0, 4.0])])
    loss.critics = nn.ModuleList([_Constant([100.0] * K), _Constant([100.0] * K)])  # must not be used
    batch = _batch()
    next_obs = batch["next", "observation"]
    log_pi, log_p = loss.policy_log_probs(next_obs), loss.prior_log_probs(next_obs)
    value = (log_pi.exp() * torch.tensor([0.0, 2.0, 1.0, 4.0])).sum(-1) - 0.5 * loss.kl(log_pi, log_p)
    not_terminated = torch.tensor([0.0, 1, 1, 0, 1, 1])  # rows 1 and 4 are truncated: they still bootstrap
    expected = batch["next", "reward"].squeeze(1) + 0.9 * not_terminated * value
    torch.testing.assert_close(loss.td_target(batch), expected)
    out = loss.qvalue_loss(batch)
    torch.testing.assert_close(out["loss_qvalue"], 2 * ((100.0 - expected) ** 2).mean())


def test_semi_mdp_discount_and_action_formats():
    loss = _loss(gamma=0.9, discount_by_inner_steps=True)
    batch = _batch()
    batch["next", "inner_steps"] = torch.tensor([[10], [10], [3], [10], [10], [1]])
    plain = _loss(gamma=0.9)
    value = plain.next_value(batch["next", "observation"])
    reward = batch["next", "reward"].squeeze(1)
    mask = 1.0 - batch["next", "terminated"].squeeze(1).float()
    expected = reward + torch.tensor([0.9**10, 0.9**10, 0.9**3, 0.9**10, 0.9**10, 0.9]) * mask * value
    torch.testing.assert_close(loss.td_target(batch), expected)
    # (B,), (B, 1) and one-hot actions give the same loss; bad ones a clear error
    index = plain.qvalue_loss(batch)["loss_qvalue"]
    batch["action"] = batch["action"][:, None]
    torch.testing.assert_close(plain.qvalue_loss(batch)["loss_qvalue"], index)
    batch["action"] = nn.functional.one_hot(batch["action"].squeeze(1), K)
    torch.testing.assert_close(plain.qvalue_loss(batch)["loss_qvalue"], index)
    batch["action"] = torch.full((B,), K)
    with pytest.raises(ValueError, match=r"outside \[0, 4\)"):
        plain.qvalue_loss(batch)


def test_update_targets_is_polyak_and_construction_errors():
    loss = _loss(tau=0.25)
    with torch.no_grad():
        for p in loss.critics.parameters():
            p.add_(1.0)
    before = [p.clone() for p in loss.target_critics.parameters()]
    loss.update_targets()
    for old, new in zip(before, loss.target_critics.parameters()):
        torch.testing.assert_close(new, old + 0.25)
    with pytest.raises(ValueError, match="kl_direction='forward'"):
        _loss(kl_direction="forward")
    with pytest.raises(ValueError, match="alpha_init must be > 0"):
        _loss(alpha_init=0.0)
    with pytest.raises(ValueError, match="expected 2 critics"):
        PriorKLDiscreteSACLoss(nn.Linear(OBS, K), OBS, K, critics=[nn.Linear(OBS, K)])
    with pytest.raises(ValueError, match=r"policy returned shape \(6, 5\)"):
        PriorKLDiscreteSACLoss(nn.Linear(OBS, K), OBS, K, policy=nn.Linear(OBS, 5))(_batch())
