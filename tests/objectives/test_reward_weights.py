import numpy as np
import pytest
import torch

from rlkit.objectives.reward_weights import fit_reward_weights, reward_mse


def test_closed_form_matches_least_squares():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=gen)
    y = torch.randn(200, 1, generator=gen)
    w = fit_reward_weights(x, y)
    expected, *_ = np.linalg.lstsq(x.double().numpy(), y[:, 0].double().numpy(), rcond=None)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-5, atol=1e-6)
    # the normal equations hold at the solution
    torch.testing.assert_close(x.double().T @ (x.double() @ w.double() - y[:, 0].double()),
                               torch.zeros(6, dtype=torch.float64), atol=1e-5, rtol=0)


def test_exact_recovery_rank_deficient_and_ridge():
    x = torch.tensor([[1.0, 2.0, 1.0], [3.0, 0.5, 1.0], [0.0, -1.0, 1.0], [2.0, 2.0, 1.0]])
    true_w = torch.tensor([0.5, -1.0, 2.0])
    torch.testing.assert_close(fit_reward_weights(x, x @ true_w), true_w)
    duplicated = torch.cat((x, x[:, :1]), dim=1)  # two identical columns: minimum-norm splits the weight
    w = fit_reward_weights(duplicated, x @ true_w)
    torch.testing.assert_close(w[0], w[3])
    torch.testing.assert_close(w[0] + w[3], torch.tensor(0.5))
    ridge = fit_reward_weights(x, x @ true_w, ridge=2.0).double()
    xd, yd = x.double(), (x @ true_w).double()
    torch.testing.assert_close(ridge, torch.linalg.solve(xd.T @ xd + 2 * torch.eye(3, dtype=torch.float64), xd.T @ yd),
                               rtol=1e-6, atol=1e-6)


def test_reward_mse_by_hand_and_errors():
    phi = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    w = torch.tensor([2.0, 3.0])
    assert reward_mse(w, phi, torch.tensor([[1.0], [1.0]])).item() == pytest.approx((1 + 4) / 2)
    with pytest.raises(ValueError, match=r"reward must have shape \(2,\) or \(2, 1\)"):
        fit_reward_weights(phi, torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        fit_reward_weights(phi, torch.tensor([float("nan"), 0.0]))
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        reward_mse(torch.zeros(3), phi, torch.zeros(2))
