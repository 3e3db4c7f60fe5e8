"""DecisionTransformer: shapes, exact padding, causality over the (R, s, a) interleaving, timestep option, init."""

from __future__ import annotations

import pytest
import torch

from rlkit.modules.attention import causal_padding_mask
from rlkit.modules.transformer import DecisionTransformer

S, A, E = 3, 2, 16


def make_dt(**kw) -> DecisionTransformer:
    torch.manual_seed(0)
    kw = {"embed_dim": E, "n_layer": 2, "n_head": 2, "dropout": 0.0, **kw}
    return DecisionTransformer(S, A, **kw).eval()


def window(batch: int = 3, length: int = 5, seed: int = 1) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "states": torch.randn(batch, length, S, generator=gen),
        "actions": torch.rand(batch, length, A, generator=gen) * 2 - 1,
        "returns_to_go": torch.randn(batch, length, 1, generator=gen),
        "timesteps": torch.arange(length).repeat(batch, 1) + 7,
        "mask": torch.ones(batch, length, dtype=torch.bool),
    }


def test_output_shape_and_state_token_hidden():
    dt = make_dt()
    out = dt(**window(4, 5))
    assert out.shape == (4, 5, E)
    assert dt(**window(2, 1)).shape == (2, 1, E)
    # final LayerNorm: each hidden state is normalised (unit gain, zero bias at init)
    torch.testing.assert_close(out.mean(-1), torch.zeros(4, 5), atol=1e-5, rtol=0)


def test_mask_builder_is_causal_without_padded_keys_and_keeps_diagonal():
    token_mask = torch.tensor([[False, True, True]])
    mask = causal_padding_mask(token_mask, 3, torch.device("cpu"))[0, 0]
    expected = torch.tensor([[True, False, False], [False, True, False], [False, True, True]])
    assert torch.equal(mask, expected)
    assert causal_padding_mask(None, 3, torch.device("cpu")) is None


@pytest.mark.parametrize("max_timestep", [None, 50])
def test_left_padded_window_equals_unpadded_window(max_timestep):
    dt = make_dt(max_timestep=max_timestep)
    full = window(3, 5)
    short = {key: value[:, 3:] for key, value in full.items()}  # the last k = 2 steps
    padded = {key: value.clone() for key, value in full.items()}
    padded["mask"][:, :3] = False
    out_padded = dt(**padded)
    out_short = dt(**short)
    torch.testing.assert_close(out_padded[:, 3:], out_short, atol=1e-5, rtol=1e-5)
    # and it is not trivially so: without the mask the earlier steps do change the prediction
    assert not torch.allclose(dt(**full)[:, 3:], out_short, atol=1e-3)


def test_padded_content_changes_nothing_at_real_positions():
    dt = make_dt(max_timestep=50)
    inputs = window(3, 5)
    inputs["mask"][0, :2] = False
    inputs["mask"][1, :4] = False
    reference = dt(**inputs)
    changed = {key: value.clone() for key, value in inputs.items()}
    pad = ~inputs["mask"]
    changed["states"][pad] = torch.full((int(pad.sum()), S), float("nan"))
    changed["actions"][pad] = 1e6
    changed["returns_to_go"][pad] = -1e6
    changed["timesteps"][pad] = 3
    out = dt(**changed)
    real = inputs["mask"]
    torch.testing.assert_close(out[real], reference[real], atol=0, rtol=0)
    assert torch.isfinite(out).all()


def test_fully_padded_rows_give_no_nan_in_outputs_or_gradients():
    dt = make_dt()
    dt.train()  # dropout on too: the masked softmax must stay finite either way
    dt_dropout = DecisionTransformer(S, A, embed_dim=E, n_layer=2, n_head=2, dropout=0.1).train()
    for model in (dt, dt_dropout):
        inputs = window(3, 4)
        inputs["mask"][1] = False
        inputs["mask"][2, :3] = False
        out = model(**inputs)
        assert torch.isfinite(out).all()
        (out * inputs["mask"][..., None]).square().sum().backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)


def test_causality_future_tokens_never_change_earlier_predictions():
    dt = make_dt()
    inputs = window(2, 5)
    reference = dt(**inputs)
    gen = torch.Generator().manual_seed(5)
    for t in range(5):
        changed = {key: value.clone() for key, value in inputs.items()}
        changed["states"][:, t + 1 :] = torch.randn(2, 4 - t, S, generator=gen)
        changed["returns_to_go"][:, t + 1 :] = torch.randn(2, 4 - t, 1, generator=gen)
        changed["actions"][:, t:] = torch.rand(2, 5 - t, A, generator=gen)  # a_t comes after s_t
        out = dt(**changed)
        torch.testing.assert_close(out[:, : t + 1], reference[:, : t + 1], atol=1e-6, rtol=1e-6)
        if t < 4:
            assert not torch.allclose(out[:, t + 1 :], reference[:, t + 1 :], atol=1e-4)


def test_action_at_t_reaches_the_next_prediction_only():
    dt = make_dt()
    inputs = window(2, 4)
    reference = dt(**inputs)
    changed = {key: value.clone() for key, value in inputs.items()}
    changed["actions"][:, 1] = -changed["actions"][:, 1]
    out = dt(**changed)
    torch.testing.assert_close(out[:, :2], reference[:, :2], atol=0, rtol=0)
    assert (out[:, 2] - reference[:, 2]).abs().max() > 1e-3
    # while the state and return at t do reach the prediction at t
    for key in ("states", "returns_to_go"):
        changed = {k: v.clone() for k, v in inputs.items()}
        changed[key][:, 1] += 1.0
        assert (dt(**changed)[:, 1] - reference[:, 1]).abs().max() > 1e-3


def test_no_mask_equals_all_real_mask():
    dt = make_dt()
    inputs = window(2, 5)
    with_mask = dt(**inputs)
    without = dt(inputs["states"], inputs["actions"], inputs["returns_to_go"], inputs["timesteps"], None)
    torch.testing.assert_close(with_mask, without, atol=1e-5, rtol=1e-5)


def test_without_timestep_embedding_timesteps_are_ignored():
    dt = make_dt()
    assert dt.embed_timestep is None
    assert not any("timestep" in name for name, _ in dt.named_parameters())
    inputs = window(2, 4)
    shifted = {**inputs, "timesteps": inputs["timesteps"] * 3 + 11}
    torch.testing.assert_close(dt(**inputs), dt(**shifted), atol=0, rtol=0)


def test_timestep_embedding_is_used_and_capped():
    dt = make_dt(max_timestep=20)
    assert dt.embed_timestep.num_embeddings == 21
    inputs = window(2, 4)
    shifted = {**inputs, "timesteps": inputs["timesteps"] + 1}
    assert not torch.allclose(dt(**inputs), dt(**shifted), atol=1e-4)
    at_cap = {**inputs, "timesteps": torch.full_like(inputs["timesteps"], 20)}
    beyond = {**inputs, "timesteps": torch.full_like(inputs["timesteps"], 999)}
    torch.testing.assert_close(dt(**at_cap), dt(**beyond), atol=0, rtol=0)
    with pytest.raises(ValueError, match="pass timesteps"):
        dt(inputs["states"], inputs["actions"], inputs["returns_to_go"], None, inputs["mask"])


def test_gpt2_initialisation():
    torch.manual_seed(0)
    dt = DecisionTransformer(S, A, embed_dim=128, n_layer=4, n_head=4)
    block = dt.blocks[0]
    assert abs(block.attn.qkv.weight.std().item() - 0.02) < 0.001
    assert abs(block.mlp[0].weight.std().item() - 0.02) < 0.001
    assert abs(block.attn.proj.weight.std().item() - 0.02 / 8**0.5) < 0.0005  # 1/sqrt(2 n_layer)
    assert block.mlp[0].weight.shape == (512, 128)  # n_inner defaults to 4 * embed_dim
    assert torch.count_nonzero(block.attn.qkv.bias) == 0
    assert torch.equal(dt.embed_ln.weight, torch.ones(128))


def test_gradients_reach_every_parameter():
    dt = make_dt(max_timestep=50)
    # a random read-out: the sum of a LayerNorm output is constant, so it would have no gradient
    dt(**window(2, 4)).matmul(torch.randn(E)).square().sum().backward()
    missing = [name for name, p in dt.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_bad_inputs_name_the_argument():
    dt = make_dt()
    inputs = window(2, 4)
    with pytest.raises(ValueError, match="returns_to_go"):
        dt(**{**inputs, "returns_to_go": inputs["returns_to_go"][..., 0]})
    with pytest.raises(ValueError, match="states"):
        dt(**{**inputs, "states": torch.randn(2, 4, S + 1)})
    with pytest.raises(ValueError, match="mask must be a bool"):
        dt(**{**inputs, "mask": inputs["mask"].float()})
    with pytest.raises(ValueError, match="divisible"):
        DecisionTransformer(S, A, embed_dim=10, n_head=4)
    with pytest.raises(ValueError, match="activation"):
        DecisionTransformer(S, A, embed_dim=8, n_head=2, activation="swishy")


@pytest.mark.parametrize("padded", [False, True])
def test_state_queries_only_matches_the_full_network_in_outputs_and_gradients(padded):
    pruned, full = make_dt(n_layer=3), make_dt(n_layer=3, state_queries_only=False)
    full.load_state_dict(pruned.state_dict())
    inputs = window(3, 5)
    if padded:
        inputs["mask"][0, :2] = False
        inputs["mask"][1, :4] = False
    out_pruned, out_full = pruned(**inputs), full(**inputs)
    torch.testing.assert_close(out_pruned, out_full, atol=1e-5, rtol=1e-5)
    weights = torch.randn_like(out_full)
    (out_pruned * weights).sum().backward()
    (out_full * weights).sum().backward()
    for (name, p_pruned), p_full in zip(pruned.named_parameters(), full.parameters()):
        torch.testing.assert_close(p_pruned.grad, p_full.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_state_queries_only_runs_the_last_mlp_on_state_tokens_only():
    seen = {}
    for flag in (True, False):
        dt = make_dt(state_queries_only=flag)
        dt.blocks[-1].mlp.register_forward_hook(lambda mod, args, out, flag=flag: seen.__setitem__(flag, out.shape))
        dt.blocks[0].mlp.register_forward_hook(lambda mod, args, out, flag=flag: seen.__setitem__(("first", flag),
                                                                                                  out.shape))
        dt(**window(2, 5))
    assert seen[True] == (2, 5, E) and seen[False] == (2, 15, E)
    # earlier blocks keep every token that a state token can attend to: all but the last action
    assert seen[("first", True)] == (2, 14, E)


def test_attention_queries_need_their_mask_rows():
    dt = make_dt()
    x = torch.randn(2, 6, E)
    with pytest.raises(ValueError, match="mask rows"):
        dt.blocks[0].attn(x, None, slice(1, None, 3))
