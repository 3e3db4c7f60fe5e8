import pytest
import torch
from tensordict import TensorDict

from rlkit.agents.gom import GOM
from rlkit.trainers.gom_trainer import GOMTrainer

OBS, ACT, PHI, B = 4, 2, 17, 32


def small_gom(gamma=0.5) -> GOM:
    torch.manual_seed(0)
    return GOM.from_dataset_stats(OBS, ACT, -torch.ones(PHI), torch.ones(PHI), gamma=gamma, small=True)


def make_batch(gom: GOM) -> TensorDict:
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(B, OBS, generator=gen)
    next_obs = obs + 0.1 * torch.randn(B, OBS, generator=gen)
    return TensorDict({
        "observation": obs, "action": torch.tanh(obs[:, :ACT]), "phi": gom.features(obs),
        ("next", "phi"): gom.features(next_obs), ("next", "observation"): next_obs,
        ("next", "reward"): gom.features(next_obs)[:, :1], ("next", "terminated"): torch.zeros(B, 1, dtype=torch.bool),
    }, batch_size=[B])


def trainer(gom: GOM, **kwargs) -> GOMTrainer:
    options = dict(compile=False, sampling_steps=2, warmup_steps=5, total_steps=1000, lr=3e-3, w_lr=1e-2,
                   gamma=gom.gamma)
    return GOMTrainer(gom, **{**options, **kwargs})


def test_tiny_training_run_lowers_every_loss():
    gom = small_gom()
    train, batch = trainer(gom), make_batch(gom)
    history = torch.tensor([[m["loss_psi"], m["loss_policy"], m["loss_w"]]
                            for m in (train.step(batch) for _ in range(60))])
    first, last = history[:15].mean(0), history[-15:].mean(0)
    assert torch.all(last < 0.8 * first), (first, last)
    assert train.num_updates.item() == 60


def test_first_update_has_lr_zero_and_ema_follows():
    gom = small_gom()
    train, batch = trainer(gom), make_batch(gom)
    before = [p.detach().clone() for p in gom.psi.parameters()]
    metrics = train.step(batch)
    assert metrics["lr"].item() == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, gom.psi.parameters()))  # lr 0: no move (optax count 0)
    ema_before = [p.detach().clone() for p in gom.psi_ema.parameters()]
    train.step(batch)
    online = list(gom.psi.parameters())
    for old, new, p in zip(ema_before, gom.psi_ema.parameters(), online):
        torch.testing.assert_close(new, 0.995 * old + 0.005 * p.detach())
    assert not all(torch.equal(a, b) for a, b in zip(before, online))


@pytest.mark.parametrize("rule", ["normalize", "clip"])
def test_grad_rules_in_the_step(rule, monkeypatch):
    gom = small_gom()
    train, batch = trainer(gom, grad_rule=rule), make_batch(gom)
    seen = {}
    real_step = train.psi_optim.step

    def spy_step(*args, **kwargs):
        seen["norm"] = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in gom.psi.parameters()])).item()
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train.psi_optim, "step", spy_step)
    metrics = train.step(batch)
    raw = metrics["grad_norm_psi"].item()
    expected = 1.0 if rule == "normalize" else min(raw, 1.0)
    assert seen["norm"] == pytest.approx(expected, rel=1e-4)
    assert raw != pytest.approx(1.0, rel=1e-3)  # so the two rules are told apart


def test_resume_is_bit_identical():
    gom_a = small_gom()
    train_a, batch = trainer(gom_a), make_batch(gom_a)
    for _ in range(3):
        train_a.step(batch)
    gom_b = small_gom()
    gom_b.load_state_dict(gom_a.state_dict())
    train_b = trainer(gom_b)
    train_b.load_state_dict(train_a.state_dict())
    torch.manual_seed(7)
    out_a = train_a.step(batch)
    torch.manual_seed(7)
    out_b = train_b.step(batch)
    assert out_a["loss_psi"].item() == out_b["loss_psi"].item()
    for (name, a), b in zip(gom_a.state_dict().items(), gom_b.state_dict().values()):
        assert torch.equal(a, b), name


def test_closed_form_w_rule_and_argument_errors():
    gom = small_gom()
    train, batch = trainer(gom, w_rule="closed_form"), make_batch(gom)
    w = train.fit_w(batch["next", "phi"], batch["next", "reward"])
    train.step(batch)
    torch.testing.assert_close(gom.w.detach(), w)
    assert "loss_w" not in train.step(batch.exclude(("next", "reward")))
    with pytest.raises(ValueError, match="gamma=0.99 differs"):
        GOMTrainer(gom, gamma=0.99, compile=False)
    with pytest.raises(ValueError, match="grad_rule"):
        trainer(gom, grad_rule="bogus")
    with pytest.raises(ValueError, match="w_rule"):
        trainer(gom, w_rule="bogus")


@pytest.mark.slow  # torch.compile takes 1-3 min on a loaded 2-core CPU: run with -m slow
def test_compiled_step_runs_and_learns_like_eager():
    gom = small_gom()
    train, batch = trainer(gom, compile=True), make_batch(gom)
    history = torch.tensor([[m["loss_psi"], m["loss_policy"]] for m in (train.step(batch) for _ in range(40))])
    assert torch.isfinite(history).all()
    assert torch.all(history[-10:].mean(0) < history[:10].mean(0))
    assert train.first_step_seconds is not None
    # the compiled sampler reads the EMA weights as they are now (not values frozen at compile time)
    obs, noise = batch["next", "observation"], torch.randn(B, 1, PHI)
    compiled = gom.psi_ema.sample(obs, steps=2, noise=noise)
    gom.psi_ema._hoisted_step = None  # back to eager
    torch.testing.assert_close(compiled, gom.psi_ema.sample(obs, steps=2, noise=noise), rtol=1e-3, atol=1e-3)


def test_bf16_sampler_option_keeps_float32_losses():
    gom = small_gom()
    train, batch = trainer(gom, sampler_bf16=True), make_batch(gom)
    metrics = train.step(batch)
    assert metrics["loss_psi"].dtype == torch.float32 and torch.isfinite(metrics["loss_psi"])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        target = train.loss.bellman_target(batch["phi"], batch["next", "observation"], noise=torch.zeros(B, PHI))
    exact = train.loss.bellman_target(batch["phi"], batch["next", "observation"], noise=torch.zeros(B, PHI))
    assert target.dtype == torch.float32
    relative = ((target - exact).norm() / exact.norm()).item()
    assert 0 < relative < 0.05  # bf16 changes the sample a little, not a lot
