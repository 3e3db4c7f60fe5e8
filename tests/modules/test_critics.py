"""Critics and MLP: per-token twin Q, parameter-free layer norm, recurrent critic causality and padding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlkit.modules.critics import RecurrentTwinQCritic, TwinQCritic
from rlkit.modules.mlp import MLP

S, A = 3, 2


def state_actions(*lead: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*lead, S, generator=gen), torch.rand(*lead, A, generator=gen) * 2 - 1


def test_mlp_layers_and_errors():
    net = MLP(4, 2, (8, 6), output_activation=nn.Tanh)
    kinds = [type(layer) for layer in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear, nn.Tanh]
    out = net(torch.randn(5, 7, 4))
    assert out.shape == (5, 7, 2) and out.abs().max() < 1
    with pytest.raises(ValueError, match="last dim 4"):
        net(torch.randn(5, 3))
    with pytest.raises(ValueError, match="positive ints"):
        MLP(4, 2, (8, 0))


@pytest.mark.parametrize("layer_norm", [False, True])
def test_twin_critic_is_applied_per_token(layer_norm):
    torch.manual_seed(0)
    critic = TwinQCritic(S, A, hidden_sizes=(16, 16), layer_norm=layer_norm)
    states, actions = state_actions(4, 5)
    q = critic(states, actions)
    assert q.shape == (2, 4, 5, 1)
    flat = critic(states.reshape(-1, S), actions.reshape(-1, A)).reshape(2, 4, 5, 1)
    torch.testing.assert_close(q, flat, atol=1e-6, rtol=1e-6)
    inputs = torch.cat((states, actions), -1)
    torch.testing.assert_close(q[0], critic.q1(inputs))
    torch.testing.assert_close(q[1], critic.q2(inputs))
    torch.testing.assert_close(critic.q1_value(states, actions), q[0])
    assert not torch.allclose(q[0], q[1])  # two independently initialised heads
    # one token's value does not depend on the other tokens
    changed = states.clone()
    changed[:, 1:] += 5.0
    torch.testing.assert_close(critic(changed, actions)[:, :, 0], q[:, :, 0])


def test_parameter_free_layer_norm_has_no_parameters_and_normalises():
    torch.manual_seed(0)
    plain = TwinQCritic(S, A, hidden_sizes=(32, 32))
    normed = TwinQCritic(S, A, hidden_sizes=(32, 32), layer_norm=True)
    norms = [m for m in normed.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == 4  # two hidden layers x two critics
    assert all(len(list(m.parameters())) == 0 for m in norms)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in normed.parameters())
    captured = []
    norms[0].register_forward_hook(lambda module, inputs, output: captured.append(output))
    normed(*state_actions(64, seed=3))
    hidden = captured[0]
    torch.testing.assert_close(hidden.mean(-1), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(hidden.var(-1, unbiased=False), torch.ones(64), atol=1e-3, rtol=0)


def test_twin_critic_gradients_and_shape_errors():
    critic = TwinQCritic(S, A, hidden_sizes=(8,))
    states, actions = state_actions(4, 5)
    actions.requires_grad_(True)
    critic(states, actions).sum().backward()
    assert actions.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())
    with pytest.raises(ValueError, match="same leading dims"):
        critic(states, actions[:, :3])
    with pytest.raises(ValueError, match=r"states \(\.\.\., 3\)"):
        critic(torch.randn(4, 5, S + 1), actions)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_critic_is_causal(cell):
    torch.manual_seed(0)
    critic = RecurrentTwinQCritic(S, A, hidden_size=8, num_layers=2, cell=cell)
    states, actions = state_actions(2, 5)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, :2] = False
    for use_mask in (None, mask):
        reference = critic(states, actions, use_mask)
        assert reference.shape == (2, 2, 5, 1)
        for t in range(4):
            s2, a2 = states.clone(), actions.clone()
            s2[:, t + 1 :] += 3.0
            a2[:, t + 1 :] = -a2[:, t + 1 :]
            out = critic(s2, a2, use_mask)
            torch.testing.assert_close(out[:, :, : t + 1], reference[:, :, : t + 1], atol=1e-6, rtol=1e-6)
            assert not torch.allclose(out[:, 0, t + 1 :], reference[:, 0, t + 1 :], atol=1e-4)


def test_recurrent_critic_history_matters_and_padding_is_exact():
    torch.manual_seed(0)
    critic = RecurrentTwinQCritic(S, A, hidden_size=8, num_layers=2)
    states, actions = state_actions(3, 5)
    # Q at the last step depends on the earlier steps (it is not a per-token critic)
    earlier = states.clone()
    earlier[:, 0] += 3.0
    assert not torch.allclose(critic(earlier, actions)[:, :, -1], critic(states, actions)[:, :, -1], atol=1e-4)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0, :3] = False
    mask[1] = False
    q = critic(states, actions, mask)
    # left padding to K gives the unpadded window's values; padded positions are zero
    torch.testing.assert_close(q[:, 0, 3:], critic(states[:1, 3:], actions[:1, 3:])[:, 0], atol=1e-6, rtol=1e-6)
    assert torch.count_nonzero(q[:, :2, :3]) == 0 and torch.count_nonzero(q[:, 1]) == 0
    torch.testing.assert_close(q[:, 2], critic(states[2:], actions[2:])[:, 0])
    # the padded content is never read
    s2, a2 = states.clone(), actions.clone()
    s2[~mask] = 1e3
    a2[~mask] = -1.0
    torch.testing.assert_close(critic(s2, a2, mask), q, atol=0, rtol=0)


def test_recurrent_critic_gradients_and_errors():
    critic = RecurrentTwinQCritic(S, A, hidden_size=8, num_layers=3, cell="lstm")
    states, actions = state_actions(2, 4)
    mask = torch.ones(2, 4, dtype=torch.bool)
    mask[0, 0] = False
    critic(states, actions, mask).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in critic.parameters())
    assert critic.q1.rnn.num_layers == 3
    with pytest.raises(ValueError, match="cell"):
        RecurrentTwinQCritic(S, A, cell="rnn")
    with pytest.raises(ValueError, match="mask"):
        critic(states, actions, mask.float())
    with pytest.raises(ValueError, match=r"\(B, K, S\)"):
        critic(states[0], actions[0])
