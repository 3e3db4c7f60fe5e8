import math

import pytest
import torch

from rlkit.modules.occupancy_unet import ConditionalMLPUNet, sinusoidal_embedding


def tiny(x_dim=5, cond_dim=3) -> ConditionalMLPUNet:
    torch.manual_seed(0)
    net = ConditionalMLPUNet(x_dim, cond_dim, embed_dim=16, down_dims=(16, 32, 48))
    for p in net.parameters():  # non-zero biases and LayerNorm affines, so every term is exercised
        torch.nn.init.normal_(p, std=0.3)
    return net


def test_default_sizes_match_the_original():
    with torch.device("meta"):  # sizes only: no memory, no init cost
        psi, policy = ConditionalMLPUNet(129, 29), ConditionalMLPUNet(8, 29 + 129)
    assert sum(p.numel() for p in psi.parameters()) == 25_020_801
    assert sum(p.numel() for p in policy.parameters()) == 24_993_800


def test_flax_like_init():
    net = ConditionalMLPUNet(5, 3, embed_dim=16, down_dims=(16, 32))
    first = net.blocks[0].first[0]
    assert torch.all(first.bias == 0)
    bound = 2 * math.sqrt(1 / 5) / 0.87962566103423978
    assert first.weight.abs().max() <= bound + 1e-6
    assert net.blocks[0].first[1].eps == 1e-6


def test_sinusoidal_embedding_values():
    emb = sinusoidal_embedding(torch.tensor([0.0, 2.0]), 6)
    freqs = torch.tensor([1.0, 10000 ** (-1 / 2), 10000 ** (-2 / 2)])
    torch.testing.assert_close(emb[1], torch.cat((torch.sin(2 * freqs), torch.cos(2 * freqs))))
    torch.testing.assert_close(emb[0], torch.tensor([0.0, 0, 0, 1, 1, 1]))
    assert sinusoidal_embedding(torch.tensor(3.0), 7).shape == (7,)


def test_hoisted_film_equals_plain_network():
    net = tiny()
    x, cond = torch.randn(4, 6, 5), torch.randn(4, 3)
    label = torch.tensor(740.0)
    plain = net(x, label.expand(4, 6), cond[:, None].expand(4, 6, 3))
    prepared = net.prepare_condition(cond[:, None])
    hoisted = net.forward_prepared(x, label, prepared)
    torch.testing.assert_close(hoisted, plain, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(net.forward_prepared(x, torch.tensor(20.0), prepared), plain, atol=1e-3)


def test_skip_structure_uses_the_right_widths():
    net = tiny()
    widths = [(b.first[0].in_features, b.first[0].out_features) for b in net.blocks]
    # down 2x16, 2x32, 2x48; mid 2x48; up concat(48, 48)->32, 32; concat(32, 32)->16, 16
    assert widths == [(5, 16), (16, 16), (16, 32), (32, 32), (32, 48), (48, 48), (48, 48), (48, 48),
                      (96, 32), (32, 32), (64, 16), (16, 16)]


def test_bad_shapes():
    net = tiny()
    with pytest.raises(ValueError, match="x with last dim 5"):
        net(torch.zeros(2, 4), torch.zeros(2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="cond with last dim 3"):
        net.prepare_condition(torch.zeros(2, 4))


def test_flax_param_map_covers_every_parameter_once_and_loads():
    import numpy as np

    from rlkit.modules.occupancy_unet import flax_param_map, load_flax_params

    source, target = tiny(), ConditionalMLPUNet(5, 3, embed_dim=16, down_dims=(16, 32, 48))
    mapping = flax_param_map(source)
    assert set(mapping) == {name for name, _ in source.named_parameters()}
    assert len(set(mapping.values())) == len(mapping)
    assert mapping["blocks.11.film.bias"] == ("ConditionalResidualLinearBlock_11", "Dense_0", "bias")
    assert mapping["blocks.0.skip.weight"] == ("ConditionalResidualLinearBlock_0", "Dense_1", "kernel")
    assert mapping["head.0.1.weight"] == ("LinearBlock_2", "LayerNorm_0", "scale")
    tree: dict = {}
    for name, param in source.named_parameters():  # a flax-shaped tree: kernels (in, out), numpy arrays
        node = tree
        path = mapping[name]
        for key in path[:-1]:
            node = node.setdefault(key, {})
        array = param.detach().numpy()
        node[path[-1]] = np.ascontiguousarray(array.T) if path[-1] == "kernel" else array
    load_flax_params(target, tree)
    x, cond, label = torch.randn(2, 5), torch.randn(2, 3), torch.tensor([3.0, 900.0])
    torch.testing.assert_close(target(x, label, cond), source(x, label, cond))
    del tree["ConditionalResidualLinearBlock_0"]["Dense_0"]
    with pytest.raises(KeyError, match="ConditionalResidualLinearBlock_0/Dense_0"):
        load_flax_params(target, tree)


def test_against_flax_original_when_installed():
    """Optional: the flax original's ConditionalUnet1D, if the WEIRDLabUW/gom code is importable (models.nets)."""
    pytest.importorskip("flax")
    nets = pytest.importorskip("models.nets", reason="the original's models/nets.py is not on the path")
    import jax
    import numpy as np

    from rlkit.modules.occupancy_unet import load_flax_params

    flax_net = nets.ConditionalUnet1D(output_dim=5, global_cond_dim=3, embed_dim=16, down_dims=(16, 32, 48))
    x, cond, label = np.random.randn(2, 5).astype("f4"), np.random.randn(2, 3).astype("f4"), np.array([3.0, 900.0])
    params = flax_net.init(jax.random.PRNGKey(0), x, label, cond)["params"]
    net = ConditionalMLPUNet(5, 3, embed_dim=16, down_dims=(16, 32, 48))
    load_flax_params(net, jax.tree_util.tree_map(np.asarray, params))
    expected = np.asarray(flax_net.apply({"params": params}, x, label, cond))
    got = net(torch.from_numpy(x), torch.from_numpy(label).float(), torch.from_numpy(cond)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
