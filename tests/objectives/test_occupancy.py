import pytest
import torch
from tensordict import TensorDict

from rlkit.agents.gom import GOM
from rlkit.objectives.occupancy import OccupancyLoss

OBS, ACT, PHI = 4, 2, 17


def small_gom(gamma=0.9) -> GOM:
    torch.manual_seed(0)
    return GOM.from_dataset_stats(OBS, ACT, -torch.ones(PHI), torch.ones(PHI), gamma=gamma, small=True)


def make_batch(gom: GOM, size=6, terminated=None) -> TensorDict:
    gen = torch.Generator().manual_seed(1)
    obs, next_obs = torch.randn(size, OBS, generator=gen), torch.randn(size, OBS, generator=gen)
    if terminated is None:
        terminated = torch.zeros(size, 1, dtype=torch.bool)
    return TensorDict({
        "observation": obs, "action": torch.rand(size, ACT, generator=gen) * 2 - 1, "phi": gom.features(obs),
        ("next", "phi"): gom.features(next_obs), ("next", "observation"): next_obs,
        ("next", "reward"): torch.randn(size, 1, generator=gen), ("next", "terminated"): terminated,
    }, batch_size=[size])


def test_bellman_target_is_phi_plus_gamma_ema_sample():
    gom = small_gom()
    loss = OccupancyLoss(gom, sampling_steps=3)
    batch = make_batch(gom)
    noise = torch.randn(6, PHI)
    target = loss.bellman_target(batch["phi"], batch["next", "observation"], noise=noise)
    sample = gom.psi_ema.sample(batch["next", "observation"], 1, steps=3, noise=noise[:, None])[:, 0]
    torch.testing.assert_close(target, batch["phi"] + 0.9 * sample)


def test_bellman_target_uses_the_ema_model_not_the_online_one():
    gom = small_gom()
    loss = OccupancyLoss(gom, sampling_steps=3)
    batch = make_batch(gom)
    noise = torch.randn(6, PHI)
    target = lambda: loss.bellman_target(batch["phi"], batch["next", "observation"], noise=noise)
    before = target()
    with torch.no_grad():
        for p in gom.psi.parameters():
            p.mul_(1.5).add_(0.1)
    torch.testing.assert_close(target(), before)  # online change: target unchanged
    with torch.no_grad():
        for p in gom.psi_ema.parameters():
            p.mul_(1.5).add_(0.1)
    assert not torch.allclose(target(), before)  # EMA change: target moves


def test_done_mask_option():
    gom = small_gom()
    terminated = torch.tensor([[True], [False], [True], [False], [False], [False]])
    batch = make_batch(gom, terminated=terminated)
    noise = torch.randn(6, PHI)
    masked = OccupancyLoss(gom, sampling_steps=2, done_mask=True).bellman_target(
        batch["phi"], batch["next", "observation"], batch["next", "terminated"], noise=noise)
    plain = OccupancyLoss(gom, sampling_steps=2).bellman_target(batch["phi"], batch["next", "observation"],
                                                                  noise=noise)
    torch.testing.assert_close(masked[terminated[:, 0]], batch["phi"][terminated[:, 0]])
    torch.testing.assert_close(masked[~terminated[:, 0]], plain[~terminated[:, 0]])
    assert not torch.allclose(plain[terminated[:, 0]], batch["phi"][terminated[:, 0]])


def test_terms_match_the_models_losses():
    gom = small_gom()
    loss = OccupancyLoss(gom, sampling_steps=2)
    batch = make_batch(gom)
    tensors = loss.read_batch(batch)
    target = torch.randn(6, PHI)
    torch.manual_seed(5)
    terms = loss.training_terms(tensors, target)
    torch.manual_seed(5)
    psi_expected = gom.psi.loss(target, batch["observation"])
    policy_expected = gom.policy.loss(batch["action"], torch.cat((batch["observation"], target), -1))
    torch.testing.assert_close(terms["loss_psi"], psi_expected)
    torch.testing.assert_close(terms["loss_policy"], policy_expected)
    w_expected = ((batch["next", "phi"] @ gom.w - batch["next", "reward"][:, 0]) ** 2).mean()
    torch.testing.assert_close(terms["loss_w"], w_expected)
    out = loss(batch)
    assert set(out.keys()) == {"loss_psi", "loss_policy", "loss_w", "target_psi_value"}
    out["loss_psi"].backward()
    assert gom.psi.denoiser.head[1].weight.grad is not None and gom.policy.denoiser.head[1].weight.grad is None
    assert all(p.grad is None for p in gom.psi_ema.parameters())


def test_diffusion_loss_by_hand_with_injected_noise_and_time():
    gom = small_gom()
    model = gom.policy
    x0, cond = torch.rand(3, ACT) * 2 - 1, torch.randn(3, OBS + PHI)
    noise, t = torch.randn(3, ACT), torch.tensor([0.0, 0.5004, 0.999])
    ab = model.schedule.alphas_cumprod[torch.tensor([0, 500, 999])]
    x_t = ab.sqrt()[:, None] * x0 + (1 - ab).sqrt()[:, None] * noise  # policy box is [-1, 1]: scaling is identity
    eps = model.denoiser(x_t, t * 1000, cond)
    torch.testing.assert_close(model.loss(x0, cond, noise=noise, t=t), ((eps - noise) ** 2).mean())


def test_batch_errors_name_the_key():
    gom = small_gom()
    loss = OccupancyLoss(gom, sampling_steps=2)
    batch = make_batch(gom)
    with pytest.raises(KeyError, match="phi"):
        loss(batch.exclude("phi"))
    bad = batch.clone()
    bad["phi"] = torch.zeros(6, PHI - 1)
    with pytest.raises(ValueError, match=r"'phi' \(phi\) must have shape \(B, 17\)"):
        loss(bad)
    renamed = batch.clone().rename_key_("phi", "features")
    out = OccupancyLoss(gom, sampling_steps=2).set_keys(phi="features")(renamed)
    assert torch.isfinite(out["loss_psi"])
    with pytest.raises(ValueError, match="unknown names"):
        loss.set_keys(bogus="x")
