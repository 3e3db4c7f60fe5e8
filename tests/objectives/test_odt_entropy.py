import math

import pytest
import torch

from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy
from rlkit.modules.transformer import DecisionTransformer
from rlkit.objectives import ODTEntropyLoss
from tests.objectives.stand_ins import FixedDistribution, FixedDistributionPolicy, window_batch


def _hand_case(entropy_value: torch.Tensor | float):
    td = window_batch(batch=2, length=3, act_dim=1, pad=1)
    entropy = torch.full((2, 3), float(entropy_value)) if isinstance(entropy_value, float) else entropy_value
    entropy = entropy.clone().requires_grad_(True)
    distribution = FixedDistribution(torch.zeros(2, 3, 1), entropy)
    return td, entropy, FixedDistributionPolicy(distribution, act_dim=1)


def test_losses_match_a_hand_computation():
    entropy_values = torch.tensor([[0.5, -1.0, 2.0], [100.0, 1.5, -0.5]])  # [1, 0] is padding
    td, entropy, policy = _hand_case(entropy_values)
    loss = ODTEntropyLoss(policy, init_temperature=0.1)
    assert loss.target_entropy.item() == -1.0  # -act_dim
    out = loss(td)

    valid = td["mask"]
    log_likelihood = (-(td["action"].squeeze(-1) ** 2))[valid].mean()
    mean_entropy = (0.5 - 1.0 + 2.0 + 1.5 - 0.5) / 5
    assert out["loss_actor"].item() == pytest.approx(-(log_likelihood.item() + 0.1 * mean_entropy), rel=1e-5)
    assert out["loss_temperature"].item() == pytest.approx(0.1 * (mean_entropy + 1.0), rel=1e-5)
    assert out["nll"].item() == pytest.approx(-log_likelihood.item(), rel=1e-5)
    assert out["entropy"].item() == pytest.approx(mean_entropy, rel=1e-5)
    assert out["temperature"].item() == pytest.approx(0.1, rel=1e-6)

    (out["loss_actor"] + out["loss_temperature"]).backward()
    # the actor term sees T as a constant: d/dH = -T / n_valid at valid positions, 0 on padding
    expected_grad = torch.where(valid, torch.tensor(-0.1 / 5), torch.tensor(0.0))
    torch.testing.assert_close(entropy.grad, expected_grad)
    # the temperature term sees H as a constant: d/dlogT = T * (H - target)
    assert loss.log_temperature.grad.item() == pytest.approx(0.1 * (mean_entropy + 1.0), rel=1e-5)


@pytest.mark.parametrize(("entropy", "direction"), [(-3.0, 1.0), (1.0, -1.0)])
def test_temperature_rises_below_the_target_entropy_and_falls_above(entropy, direction):
    td, _, policy = _hand_case(entropy)
    loss = ODTEntropyLoss(policy, init_temperature=0.1, target_entropy=-1.0)
    optimizer = torch.optim.Adam([loss.log_temperature], lr=1e-2)
    before = loss.temperature().item()
    optimizer.zero_grad()
    loss(td)["loss_temperature"].backward()
    optimizer.step()
    assert direction * (loss.temperature().item() - before) > 0


def test_rejects_a_deterministic_policy_and_bad_arguments():
    trunk = DecisionTransformer(1, 1, embed_dim=8, n_layer=1, n_head=1)
    with pytest.raises(TypeError, match="stochastic policy"):
        ODTEntropyLoss(DeterministicDTPolicy(trunk, 1))(window_batch())
    with pytest.raises(ValueError, match="init_temperature"):
        ODTEntropyLoss(DeterministicDTPolicy(trunk, 1), init_temperature=0.0)
    with pytest.raises(ValueError, match="act_dim"):
        ODTEntropyLoss(torch.nn.Linear(1, 1))


def test_real_stochastic_policy_trains_and_ignores_padding():
    torch.manual_seed(0)
    trunk = DecisionTransformer(2, 2, embed_dim=16, n_layer=1, n_head=2, dropout=0.0)
    policy = StochasticDTPolicy(trunk, 2)
    loss = ODTEntropyLoss(policy, init_temperature=0.1)
    assert loss.target_entropy.item() == -2.0
    assert math.isclose(loss.temperature().item(), 0.1, rel_tol=1e-6)
    td = window_batch(batch=3, length=4, state_dim=2, act_dim=2, pad=2)
    td["action"][0, 0] = torch.tensor([1.0, -1.0])  # boundary actions stay finite
    torch.manual_seed(1)
    out = loss(td)
    assert all(torch.isfinite(out[key]) for key in ("loss_actor", "loss_temperature", "nll", "entropy"))

    garbage = td.clone()
    garbage["observation"][~td["mask"]] = 50.0
    garbage["action"][~td["mask"]] = -0.3
    torch.manual_seed(1)
    again = loss(garbage)
    assert again["loss_actor"].item() == pytest.approx(out["loss_actor"].item(), rel=1e-5)
    assert again["entropy"].item() == pytest.approx(out["entropy"].item(), rel=1e-5)

    (out["loss_actor"] + out["loss_temperature"]).backward()
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0
    assert loss.log_temperature.grad is not None and loss.log_temperature.grad.item() != 0.0
