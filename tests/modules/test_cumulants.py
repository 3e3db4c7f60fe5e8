import math

import pytest
import torch

from rlkit.modules.cumulants import RandomFourierCumulants, feature_bounds


def test_shape_layout_and_fixed_seed():
    phi = RandomFourierCumulants(obs_dim=5, num_frequencies=8, hidden_dim=32, groups=4, seed=3)
    obs = torch.randn(7, 5)
    out = phi(obs)
    assert phi.out_dim == 17 and out.shape == (7, 17)
    f = phi.frequencies(obs)
    torch.testing.assert_close(out[:, :8], torch.sin(f))
    torch.testing.assert_close(out[:, 8:16], torch.cos(f))
    assert torch.all(out[:, -1] == 1)
    torch.manual_seed(123)  # the global seed must not matter
    again = RandomFourierCumulants(obs_dim=5, num_frequencies=8, hidden_dim=32, groups=4, seed=3)
    torch.testing.assert_close(again(obs), out)
    other = RandomFourierCumulants(obs_dim=5, num_frequencies=8, hidden_dim=32, groups=4, seed=4)
    assert not torch.allclose(other(obs), out)
    assert list(dict(phi.named_parameters())) == []  # frozen: buffers only
    assert set(phi.state_dict()) == {"input_kernel", "hidden_kernel", "output_kernel"}


def test_grouped_layers_match_dense_block_diagonal():
    phi = RandomFourierCumulants(obs_dim=3, num_frequencies=4, hidden_dim=8, groups=2, seed=0)
    obs = torch.randn(6, 3)
    hidden_dense = torch.block_diag(*phi.hidden_kernel)  # (8, 8)
    out_dense = torch.block_diag(*phi.output_kernel)  # (4, 8)
    expected = torch.relu(torch.relu(obs @ phi.input_kernel.T) @ hidden_dense.T) @ out_dense.T
    torch.testing.assert_close(phi.frequencies(obs), expected)


def test_leading_dims_and_init_scale():
    phi = RandomFourierCumulants(obs_dim=29, num_frequencies=64, hidden_dim=2048, groups=64)
    assert phi(torch.randn(2, 3, 29)).shape == (2, 3, 129)
    std = math.sqrt(1 / 29)
    assert abs(phi.input_kernel.std().item() - std) < 0.05 * std
    assert phi.input_kernel.abs().max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_bad_input():
    phi = RandomFourierCumulants(obs_dim=4, num_frequencies=4, hidden_dim=8, groups=2)
    with pytest.raises(ValueError, match="last dim 4"):
        phi(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        RandomFourierCumulants(obs_dim=4, num_frequencies=4, hidden_dim=8, groups=3)


def test_feature_bounds():
    phi = torch.tensor([[0.5, -1.0, 1.0], [0.2, 3.0, 1.0]])
    low, high = feature_bounds(phi)
    torch.testing.assert_close(low, torch.tensor([0.2, -1.0, 0.0]))
    torch.testing.assert_close(high, torch.tensor([0.5, 3.0, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        feature_bounds(torch.tensor([[float("nan")]]))
