import pytest
import torch

from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy
from rlkit.modules.transformer import DecisionTransformer
from rlkit.objectives import DTSupervisedLoss, masked_mean
from tests.objectives.stand_ins import CausalStandInPolicy, FixedDistribution, FixedDistributionPolicy, window_batch


def test_masked_mean_ignores_padding_even_when_it_holds_inf():
    values = torch.tensor([[1.0, 2.0, 3.0], [float("inf"), 5.0, 7.0]])
    mask = torch.tensor([[True, True, True], [False, True, True]])
    assert masked_mean(values, mask).item() == pytest.approx((1 + 2 + 3 + 5 + 7) / 5)
    assert masked_mean(values, torch.zeros_like(mask)).item() == 0.0


def test_masked_mse_equals_hand_computation():
    td = window_batch(batch=2, length=3, state_dim=2, act_dim=2, pad=2)
    policy = CausalStandInPolicy(2, 2)
    out = DTSupervisedLoss(policy)(td)
    prediction = policy(td["observation"], td["action"], td["return_to_go"], td["timestep"], td["mask"])
    squared = (prediction - td["action"]).pow(2)  # (2, 3, 2)
    # valid positions: row 0 all three, row 1 the last one only -> 4 positions x 2 action dims
    hand = (squared[0].sum() + squared[1, 2].sum()) / 8
    assert out["loss_actor"].item() == pytest.approx(hand.item(), rel=1e-6)
    assert out["mse"].item() == pytest.approx(hand.item(), rel=1e-6)
    assert not out["mse"].requires_grad and out["loss_actor"].requires_grad


def test_padded_positions_do_not_change_the_loss():
    td = window_batch(batch=2, length=3, state_dim=2, act_dim=2, pad=2)
    policy = CausalStandInPolicy(2, 2)
    loss = DTSupervisedLoss(policy)
    before = loss(td)["loss_actor"]
    garbage = td.clone()
    pad = ~td["mask"]
    garbage["action"][pad] = 0.9
    garbage["observation"][pad] = 1e3
    garbage["return_to_go"][pad] = -1e3
    assert loss(garbage)["loss_actor"].item() == pytest.approx(before.item(), rel=1e-6)


def test_masked_nll_equals_hand_computation_and_clips_boundary_actions():
    td = window_batch(batch=2, length=3, act_dim=1, pad=1)
    td["action"][0, 0, 0] = 1.0  # a boundary action, where atanh would be infinite
    loc = torch.zeros(2, 3, 1)
    distribution = FixedDistribution(loc, entropy=torch.zeros(2, 3))
    out = DTSupervisedLoss(FixedDistributionPolicy(distribution, 1))(td)
    clipped = td["action"].clamp(-(1 - 1e-6), 1 - 1e-6)
    assert distribution.seen_actions[0, 0, 0] == torch.tensor(1 - 1e-6)
    log_prob = -(clipped - loc).pow(2).sum(-1)
    hand = -(log_prob[0].sum() + log_prob[1, 1:].sum()) / 5
    assert out["loss_actor"].item() == pytest.approx(hand.item(), rel=1e-6)
    assert out["nll"].item() == pytest.approx(hand.item(), rel=1e-6)


def test_set_keys_renames_what_the_loss_reads_and_missing_keys_are_named():
    td = window_batch()
    loss = DTSupervisedLoss(CausalStandInPolicy(1, 1))
    expected = loss(td)["loss_actor"]
    td.rename_key_("action", "act")
    with pytest.raises(KeyError, match=r"DTSupervisedLoss: the window batch has no entry .{0,2}action"):
        loss(td)
    loss.set_keys(action="act")
    assert loss(td)["loss_actor"].item() == pytest.approx(expected.item())


class _OneDimPolicy(torch.nn.Module):
    def forward(self, states, actions, returns_to_go, timesteps, mask):
        return torch.zeros(*mask.shape, 1)


def test_prediction_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(2, 3, 1\).*'action' has shape \(2, 3, 2\)"):
        DTSupervisedLoss(_OneDimPolicy())(window_batch(act_dim=2))


@pytest.mark.parametrize("stochastic", [False, True])
def test_runs_with_the_real_policies_and_reaches_the_transformer(stochastic):
    torch.manual_seed(0)
    trunk = DecisionTransformer(2, 2, embed_dim=16, n_layer=1, n_head=2, dropout=0.0)
    policy = StochasticDTPolicy(trunk, 2) if stochastic else DeterministicDTPolicy(trunk, 2)
    out = DTSupervisedLoss(policy)(window_batch(batch=3, length=4, state_dim=2, act_dim=2, pad=2))
    assert torch.isfinite(out["loss_actor"])
    assert ("nll" if stochastic else "mse") in out
    out["loss_actor"].backward()
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0
