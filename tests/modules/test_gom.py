import pytest
import torch

from rlkit.agents.gom import GOM, GOMCheckpointError


def small_gom(obs_dim=4, act_dim=2, gamma=0.9, seed=0) -> GOM:
    torch.manual_seed(seed)
    low, high = -torch.ones(17), torch.ones(17)
    low[-1] = 0.0
    return GOM.from_dataset_stats(obs_dim, act_dim, low, high, gamma=gamma, small=True)


def test_shapes_and_boxes():
    gom = small_gom()
    obs = torch.randn(3, 4)
    phi = gom.features(obs)
    assert phi.shape == (3, 17) and torch.all(phi[:, -1] == 1)
    torch.testing.assert_close(gom.psi.high, torch.ones(17) / 0.1)
    torch.testing.assert_close(gom.psi.low[-1], torch.tensor(0.0))
    torch.testing.assert_close(gom.policy.low, -torch.ones(2))
    psi = gom.sample_psi(obs, num_samples=5, steps=3)
    assert psi.shape == (3, 5, 17)
    action = gom.sample_action(obs, psi[:, 0], steps=3)
    assert action.shape == (3, 2)
    torch.testing.assert_close(gom.predicted_reward(psi), psi @ gom.w)
    assert set(gom.config) >= {"obs_dim", "act_dim", "gamma", "down_dims"} and gom.config["down_dims"] == [32, 64]


def test_sampling_is_deterministic_with_noise_and_uses_ema_by_default():
    gom = small_gom()
    obs, noise = torch.randn(2, 4), torch.randn(2, 1, 17)
    a = gom.sample_psi(obs, steps=3, noise=noise)
    torch.testing.assert_close(gom.sample_psi(obs, steps=3, noise=noise.clone()), a)
    with torch.no_grad():
        for p in gom.psi.parameters():
            p.add_(0.5)
    torch.testing.assert_close(gom.sample_psi(obs, steps=3, noise=noise), a)  # EMA untouched
    assert not torch.allclose(gom.sample_psi(obs, steps=3, noise=noise, ema=False), a)


def test_bad_inputs():
    gom = small_gom()
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        gom.sample_psi(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"psi of shape \(2, 17\)"):
        gom.sample_action(torch.zeros(2, 4), torch.zeros(2, 16))
    with pytest.raises(ValueError, match=r"shape \(17,\)"):
        GOM.from_dataset_stats(4, 2, torch.zeros(16), torch.ones(16), small=True)
    with pytest.raises(ValueError, match="high > low"):
        GOM.from_dataset_stats(4, 2, torch.zeros(17), torch.zeros(17), small=True)


def test_save_load_roundtrip_and_config_mismatch(tmp_path):
    gom = small_gom()
    with torch.no_grad():
        gom.w.add_(1.0)
    path = tmp_path / "gom.pt"
    gom.save(path)
    loaded = GOM.load(path, expect={"obs_dim": 4, "down_dims": (32, 64)})
    for (name, a), (_, b) in zip(gom.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    obs, noise = torch.randn(2, 4), torch.randn(2, 1, 17)
    torch.testing.assert_close(loaded.sample_psi(obs, steps=2, noise=noise), gom.sample_psi(obs, steps=2, noise=noise))
    with pytest.raises(GOMCheckpointError, match=r"gamma: checkpoint 0.9, expected 0.99.*obs_dim: checkpoint 4"):
        GOM.load(path, expect={"gamma": 0.99, "obs_dim": 5})
    with pytest.raises(GOMCheckpointError, match="unknown keys"):
        GOM.load(path, expect={"nonsense": 1})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GOM.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GOMCheckpointError, match="could not be read"):
        GOM.load(tmp_path / "junk.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gom.pt", "junk.pt"]  # no temp files left


def test_hoisted_sampler_matches_plain_sampler_and_guidance_moves_value():
    gom = small_gom()
    with torch.no_grad():
        for p in gom.psi_ema.parameters():  # non-trivial biases and norms
            p.add_(0.05 * torch.randn_like(p))
    obs, noise = torch.randn(3, 4), torch.randn(3, 4, 17)
    hoisted = gom.psi_ema.sample(obs, 4, steps=5, noise=noise)
    plain = gom.psi_ema.sample(obs, 4, steps=5, noise=noise, hoist=False)
    torch.testing.assert_close(hoisted, plain, rtol=1e-4, atol=1e-4)
    guided = gom.sample_psi(obs, 4, guidance=gom.guidance(5.0), steps=5, noise=noise)
    assert (gom.predicted_reward(guided).mean() > gom.predicted_reward(hoisted).mean()).item()
