import copy

import pytest
import torch
from tensordict import TensorDict

from rlkit.modules.critics import RecurrentTwinQCritic, TwinQCritic
from rlkit.modules.dt_policy import DeterministicDTPolicy, StochasticDTPolicy
from rlkit.modules.transformer import DecisionTransformer
from rlkit.objectives import DelayedUpdates, ODTEntropyLoss, ODTTD3Loss
from tests.objectives.stand_ins import CausalStandInPolicy, LinearTwinCritic, window_batch


def _hand_window() -> TensorDict:
    """B=2, K=3, S=A=1; row 1 starts with one padded position; row 0's last step is terminal."""
    f = lambda rows: torch.tensor(rows, dtype=torch.float32)[..., None]  # noqa: E731
    return TensorDict(
        {
            "observation": f([[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]]),
            "action": f([[0.1, 0.2, 0.3], [0.0, 0.5, 0.6]]),
            "return_to_go": f([[10.0, 9.0, 8.0], [0.0, 20.0, 19.0]]),
            "timestep": torch.tensor([[4, 5, 6], [0, 0, 1]]),
            "mask": torch.tensor([[True, True, True], [False, True, True]]),
            "next": {
                "observation": f([[2.0, 3.0, 4.0], [9.0, 6.0, 7.0]]),
                "return_to_go": f([[9.0, 8.0, 7.0], [0.0, 19.0, 18.0]]),
                "reward": f([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]),
                "terminated": torch.tensor([[False, False, True], [False, False, False]])[..., None],
            },
        },
        batch_size=[2, 3],
    )


SHIFTED = {
    "observation": [[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]],
    "action": [[0.2, 0.3, 0.0], [0.5, 0.6, 0.0]],
    "return_to_go": [[9.0, 8.0, 7.0], [20.0, 19.0, 18.0]],
}


def _stand_in_loss(**kwargs) -> ODTTD3Loss:
    torch.manual_seed(0)
    kwargs.setdefault("policy_noise", 0.0)
    return ODTTD3Loss(CausalStandInPolicy(1, 1), LinearTwinCritic(), **kwargs)


def test_shift_window_builds_the_next_window_exactly():
    shifted = _stand_in_loss().shift_window(_hand_window())
    for key, rows in SHIFTED.items():
        torch.testing.assert_close(shifted[key], torch.tensor(rows)[..., None])
    torch.testing.assert_close(shifted["timestep"], torch.tensor([[5, 6, 7], [0, 1, 2]]))
    assert shifted["mask"].all()


def test_critic_target_is_computed_on_the_shifted_window_by_the_target_dt():
    loss = _stand_in_loss(gamma=0.9)
    td = _hand_window()
    out = loss.critic_loss(td)

    # the target DT (not the online one) received exactly the shifted window
    assert loss.policy.calls == []
    states, actions, rtg, timesteps, mask = loss._target_policy.calls[-1]
    torch.testing.assert_close(states, torch.tensor(SHIFTED["observation"])[..., None])
    torch.testing.assert_close(actions, torch.tensor(SHIFTED["action"])[..., None])
    torch.testing.assert_close(rtg, torch.tensor(SHIFTED["return_to_go"])[..., None])
    torch.testing.assert_close(timesteps, torch.tensor([[5, 6, 7], [0, 1, 2]]))
    assert mask.all()

    # y by hand: Q1' = 1 s + 3 a, Q2' = 2 s - a (the stand-in critic), noise off, terminal drops the bootstrap
    with torch.no_grad():
        next_s = torch.tensor(SHIFTED["observation"])
        next_a = loss._target_policy(next_s[..., None], torch.tensor(SHIFTED["action"])[..., None],
                                     torch.tensor(SHIFTED["return_to_go"])[..., None],
                                     torch.tensor([[5, 6, 7], [0, 1, 2]]), torch.ones(2, 3, dtype=torch.bool))[..., 0]
    q_next = torch.minimum(next_s + 3 * next_a, 2 * next_s - next_a)
    not_done = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    y = 1.0 + 0.9 * not_done * q_next
    y[1, 0] = 0.0  # padded position (masked below)
    s, a = td["observation"][..., 0], td["action"][..., 0]
    q1, q2 = s + 3 * a, 2 * s - a
    per_position = (q1 - y) ** 2 + (q2 - y) ** 2
    hand = per_position[td["mask"]].sum() / 6  # the original's (err * mask).mean() over B * K
    assert out["loss_critic"].item() == pytest.approx(hand.item(), rel=1e-5)
    assert out["target_mean"].item() == pytest.approx(y[td["mask"]].mean().item(), rel=1e-5)
    assert out["q1_mean"].item() == pytest.approx(q1[td["mask"]].mean().item(), rel=1e-5)


def test_terminated_positions_ignore_the_next_state():
    loss = _stand_in_loss()
    td = _hand_window()
    td["next", "terminated"][:] = True
    before = loss.critic_loss(td)["loss_critic"]
    td["next", "observation"][:] = 100.0
    td["next", "return_to_go"][:] = -7.0
    assert loss.critic_loss(td)["loss_critic"].item() == pytest.approx(before.item(), rel=1e-6)
    s, a, r = td["observation"][..., 0], td["action"][..., 0], td["next", "reward"][..., 0]
    hand = (((s + 3 * a) - r) ** 2 + ((2 * s - a) - r) ** 2)[td["mask"]].sum() / 6
    assert before.item() == pytest.approx(hand.item(), rel=1e-6)


def test_masked_positions_change_neither_loss():
    loss = _stand_in_loss()
    td = _hand_window()
    critic_before = loss.critic_loss(td)["loss_critic"].item()
    actor_before = loss.actor_loss(td)["loss_actor"].item()
    garbage = td.clone()
    pad = ~td["mask"]
    for key in ("observation", "action", "return_to_go", ("next", "observation"), ("next", "reward"),
                ("next", "return_to_go")):
        garbage[key][pad] = 1e4
    garbage["next", "terminated"][pad] = True
    assert loss.critic_loss(garbage)["loss_critic"].item() == pytest.approx(critic_before, rel=1e-6)
    assert loss.actor_loss(garbage)["loss_actor"].item() == pytest.approx(actor_before, rel=1e-6)


def test_rows_without_a_known_next_state_are_not_fitted():
    """A maze-layout file ends a timed-out episode on a row whose s' is a placeholder (has_next False)."""
    loss = _stand_in_loss()
    td = _hand_window()
    td["has_next"] = torch.ones(2, 3, dtype=torch.bool)
    assert loss.critic_loss(td)["loss_critic"].item() == pytest.approx(
        loss.critic_loss(td.exclude("has_next"))["loss_critic"].item(), rel=1e-6
    )
    td["has_next"][1, 2] = False  # row 1's episode ends here by a time limit
    before = loss.critic_loss(td)["loss_critic"].item()
    placeholder = td.clone()
    placeholder["next", "observation"][1, 2] = 1e4
    assert loss.critic_loss(placeholder)["loss_critic"].item() == pytest.approx(before, rel=1e-6)
    # without the flag the placeholder would be bootstrapped from
    unflagged = loss.critic_loss(placeholder.exclude("has_next"))["loss_critic"].item()
    assert unflagged != pytest.approx(loss.critic_loss(td.exclude("has_next"))["loss_critic"].item(), rel=1e-3)


def test_target_policy_smoothing_clips_the_noise_and_the_action():
    torch.manual_seed(0)
    td = window_batch(batch=64, length=4, state_dim=1, act_dim=2, pad=2, seed=3)
    policy = CausalStandInPolicy(1, 2)
    wide = ODTTD3Loss(policy, LinearTwinCritic(), policy_noise=10.0, noise_clip=0.3, action_low=-5.0, action_high=5.0)
    shifted = wide.shift_window(td)
    raw = wide._target_policy(*(shifted[k] for k in ("observation", "action", "return_to_go", "timestep", "mask")))
    noise = wide.target_actions(shifted) - raw
    assert noise.abs().max().item() == pytest.approx(0.3, abs=1e-6)
    assert (noise.abs() > 0.3 - 1e-6).float().mean() > 0.9  # sigma >> clip: nearly every draw is clipped
    assert (noise > 0).any() and (noise < 0).any()

    narrow = ODTTD3Loss(policy, LinearTwinCritic(), policy_noise=1.0, noise_clip=0.5, action_low=-0.1,
                        action_high=0.2)
    actions = narrow.target_actions(shifted)
    assert actions.min().item() == pytest.approx(-0.1) and actions.max().item() == pytest.approx(0.2)


def test_rl_term_uses_every_valid_position():
    loss = _stand_in_loss()
    td = _hand_window()
    prediction = torch.full((2, 3, 1), 0.25, requires_grad=True)
    rl = loss.rl_term(prediction, td)
    s = td["observation"][..., 0]
    assert rl.item() == pytest.approx((-(s + 3 * 0.25))[td["mask"]].mean().item(), rel=1e-6)
    rl.backward()
    # d(-mean Q1)/da_t = -3 / n_valid at EVERY valid position (not only the last), 0 on padding
    expected = torch.tensor([[-0.6, -0.6, -0.6], [0.0, -0.6, -0.6]])[..., None]
    torch.testing.assert_close(prediction.grad, expected)
    assert loss.critic.c.grad is None and loss.critic.d.grad is None


def _real_parts(stochastic: bool = False, recurrent: bool = False, state_dim: int = 3, act_dim: int = 2):
    torch.manual_seed(0)
    trunk = DecisionTransformer(state_dim, act_dim, embed_dim=16, n_layer=1, n_head=2, dropout=0.0)
    policy = StochasticDTPolicy(trunk, act_dim) if stochastic else DeterministicDTPolicy(trunk, act_dim)
    critic = (RecurrentTwinQCritic(state_dim, act_dim, hidden_size=8, num_layers=1) if recurrent
              else TwinQCritic(state_dim, act_dim, hidden_sizes=(16, 16)))
    return policy, critic, window_batch(batch=4, length=5, state_dim=state_dim, act_dim=act_dim, pad=3)


def test_rl_term_alone_reaches_the_transformer_and_never_the_critic():
    policy, critic, td = _real_parts()
    loss = ODTTD3Loss(policy, critic, actor_sup_coeff=0.0, actor_rl_coeff=1.0)
    out = loss.actor_loss(td)
    assert out["loss_actor"].item() == pytest.approx(out["loss_rl"].item(), rel=1e-6)
    out["loss_actor"].backward()
    grads = {name: p.grad for name, p in policy.transformer.named_parameters()}
    assert all(g is not None for g in grads.values())
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0
    assert policy.transformer.blocks[0].parameters().__next__().grad.abs().sum() > 0
    assert all(p.grad is None for p in critic.parameters())


def test_without_the_rl_term_the_critic_gets_nothing_and_the_dt_still_learns():
    policy, critic, td = _real_parts()
    loss = ODTTD3Loss(policy, critic, actor_rl_coeff=0.0)
    out = loss.actor_loss(td)
    assert out["loss_actor"].item() == pytest.approx(out["loss_sup"].item(), rel=1e-6)
    assert torch.isfinite(out["loss_rl"])  # still reported
    out["loss_actor"].backward()
    assert all(p.grad is None for p in critic.parameters())
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0


def test_combined_actor_loss_is_the_weighted_sum():
    policy, critic, td = _real_parts()
    loss = ODTTD3Loss(policy, critic, actor_sup_coeff=0.7, actor_rl_coeff=0.3)
    out = loss.actor_loss(td)
    combined = 0.7 * out["loss_sup"] + 0.3 * out["loss_rl"]
    assert out["loss_actor"].item() == pytest.approx(combined.item(), rel=1e-5)


def test_critic_loss_does_not_backprop_into_the_dt():
    policy, critic, td = _real_parts()
    loss = ODTTD3Loss(policy, critic)
    loss.critic_loss(td)["loss_critic"].backward()
    assert all(p.grad is None for p in policy.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())
    assert all(not p.requires_grad for p in loss._target_policy.parameters())
    assert all(not p.requires_grad for p in loss._target_critic.parameters())


def test_update_targets_moves_each_target_by_exactly_tau():
    loss = _stand_in_loss(tau=0.1)
    with torch.no_grad():
        loss.critic.c.copy_(torch.tensor([1.0, 2.0]))
        loss._target_critic.c.copy_(torch.tensor([0.0, -2.0]))
        online_bias = loss.policy.net[0].bias.clone()
        target_bias = torch.arange(online_bias.numel(), dtype=torch.float32)
        loss._target_policy.net[0].bias.copy_(target_bias)
        online_c = loss.critic.c.clone()
    loss.update_targets()
    torch.testing.assert_close(loss._target_critic.c, torch.tensor([0.1, -1.6]))
    torch.testing.assert_close(loss._target_policy.net[0].bias, target_bias + 0.1 * (online_bias - target_bias))
    torch.testing.assert_close(loss.critic.c, online_c)  # the online network is untouched


def test_targets_start_as_copies_live_in_state_dict_not_in_parameters_and_stay_in_eval():
    policy, critic, td = _real_parts()
    policy.transformer.embed_dropout.p = 0.5
    loss = ODTTD3Loss(policy, critic)
    torch.testing.assert_close(loss._target_critic.q1[0].weight, critic.q1[0].weight)
    assert loss._target_critic.q1[0].weight is not critic.q1[0].weight
    assert any(key.startswith("_target_policy.") for key in loss.state_dict())
    assert {id(p) for p in loss.parameters()} == {id(p) for p in [*policy.parameters(), *critic.parameters()]}
    loss.train()
    assert policy.training and not loss._target_policy.training and not loss._target_critic.training


def test_forward_returns_both_losses_and_a_recurrent_critic_gets_the_mask():
    policy, critic, td = _real_parts(recurrent=True)
    loss = ODTTD3Loss(policy, critic)
    out = loss(td)
    for key in ("loss_critic", "loss_actor", "loss_sup", "loss_rl", "q1_mean", "q2_mean", "target_mean"):
        assert torch.isfinite(out[key]), key
    torch.manual_seed(5)  # same smoothing noise for both calls
    before = loss.critic_loss(td)["loss_critic"].item()
    garbage = td.clone()
    garbage["observation"][~td["mask"]] = 1e3
    garbage["action"][~td["mask"]] = 0.9
    torch.manual_seed(5)
    assert loss.critic_loss(garbage)["loss_critic"].item() == pytest.approx(before, rel=1e-5)


def test_stochastic_policy_with_the_odt_entropy_term():
    policy, critic, td = _real_parts(stochastic=True)
    supervised = ODTEntropyLoss(policy, init_temperature=0.1)
    loss = ODTTD3Loss(policy, critic, supervised_loss=supervised)
    out = loss.actor_loss(td)
    assert {"loss_actor", "loss_temperature", "loss_sup", "loss_rl", "entropy", "temperature"} <= set(out.keys())
    (out["loss_actor"] + out["loss_temperature"]).backward()
    assert supervised.log_temperature.grad is not None
    assert policy.transformer.embed_state.weight.grad.abs().sum() > 0
    assert torch.isfinite(loss.critic_loss(td)["loss_critic"])  # the target DT's action is a sample
    with pytest.raises(ValueError, match="same policy"):
        ODTTD3Loss(policy, critic, supervised_loss=ODTEntropyLoss(copy.deepcopy(policy)))


def test_set_keys_reaches_the_supervised_term_and_bad_arguments_are_named():
    loss = _stand_in_loss()
    td = _hand_window()
    expected = loss.actor_loss(td)["loss_actor"].item()
    td.rename_key_("mask", "valid")
    loss.set_keys(mask="valid")
    assert loss.supervised_loss.tensor_keys.mask == "valid"
    assert loss.actor_loss(td)["loss_actor"].item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="gamma"):
        ODTTD3Loss(CausalStandInPolicy(1, 1), LinearTwinCritic(), gamma=1.5)
    with pytest.raises(ValueError, match="action_high"):
        ODTTD3Loss(CausalStandInPolicy(1, 1), LinearTwinCritic(), action_low=1.0, action_high=1.0)
    with pytest.raises(ValueError, match=r"\(\"next\", \"reward\"\)|'next', 'reward'"):
        _stand_in_loss().critic_loss(_hand_window().set(("next", "reward"), torch.zeros(2, 3, 2)))


def test_delayed_updates_fire_every_interval_steps():
    delay = DelayedUpdates(3)
    assert [step for step in range(10) if delay.due(step)] == [0, 3, 6, 9]
    assert all(DelayedUpdates(1).due(step) for step in range(5))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="interval"):
            DelayedUpdates(bad)


# ---------------------------------------------------------------------------------------------- a tiny learning run
def _bandit_reward(action: torch.Tensor) -> torch.Tensor:
    """The original's motivation bandit: r(a) = (a+1)^2 for a < 0, 1 - 2a for a >= 0; the optimum is a = 0."""
    return torch.where(action < 0, (action + 1) ** 2, 1 - 2 * action)


def _bandit_windows(actions: torch.Tensor, rewards: torch.Tensor) -> TensorDict:
    """One-step episodes as K=1 windows: constant state, RTG = the reward, terminal."""
    n = actions.shape[0]
    ones, zeros = torch.ones(n, 1, 1), torch.zeros(n, 1, 1)
    return TensorDict(
        {"observation": ones, "action": actions[:, None], "return_to_go": rewards[:, None],
         "timestep": torch.zeros(n, 1, dtype=torch.long), "mask": torch.ones(n, 1, dtype=torch.bool),
         "next": {"observation": ones, "return_to_go": zeros, "reward": rewards[:, None],
                  "terminated": torch.ones(n, 1, 1, dtype=torch.bool)}},
        batch_size=[n, 1],
    )


def _bandit_act(policy: torch.nn.Module, n: int, target_return: float) -> torch.Tensor:
    with torch.no_grad():
        return policy.predict_last(torch.ones(n, 1, 1), torch.zeros(n, 1, 1), torch.full((n, 1, 1), target_return),
                                   torch.zeros(n, 1, dtype=torch.long), torch.ones(n, 1, dtype=torch.bool))


def _bandit_train(loss: ODTTD3Loss, actions, rewards, steps: int, *, online: bool, target_return: float, seed: int):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dt_optim = torch.optim.Adam(loss.policy.parameters(), lr=1e-3)
    critic_optim = torch.optim.Adam(loss.critic.parameters(), lr=1e-3)
    for step in range(steps):
        if online and step % 10 == 0:  # collect 8 one-step episodes with exploration noise 0.1
            explored = (_bandit_act(loss.policy, 8, target_return) + 0.1 * torch.randn(8, 1, generator=generator))
            explored = explored.clamp(-1, 1)
            actions, rewards = torch.cat((actions, explored)), torch.cat((rewards, _bandit_reward(explored)))
        index = torch.randint(actions.shape[0], (64,), generator=generator)
        batch = _bandit_windows(actions[index], rewards[index])
        critic_optim.zero_grad()
        loss.critic_loss(batch)["loss_critic"].backward()
        critic_optim.step()
        dt_optim.zero_grad()
        loss.actor_loss(batch)["loss_actor"].backward()
        dt_optim.step()
        loss.update_targets()
    return actions, rewards


def test_bandit_rl_term_finds_the_optimum_the_data_never_shows():
    """Offline actions lie in [0.4, 1] (returns in [-1, 0.2]); acting for the best offline return 0.2, the pretrained
    DT picks a ~ 0.4. Online, the same budget with actor_rl_coeff=1 climbs to a ~ 0 (reward ~ 1); without the RL
    term the hindsight-relabelled supervised loss barely moves."""
    torch.manual_seed(0)
    policy = DeterministicDTPolicy(DecisionTransformer(1, 1, embed_dim=16, n_layer=1, n_head=1, dropout=0.0), 1)
    critic = TwinQCritic(1, 1, hidden_sizes=(32, 32))
    offline_actions = 0.4 + 0.6 * torch.rand(256, 1, generator=torch.Generator().manual_seed(1))
    offline_rewards = _bandit_reward(offline_actions)
    target_return = offline_rewards.max().item()
    pretrain = ODTTD3Loss(policy, critic, actor_rl_coeff=0.0, tau=0.05)
    _bandit_train(pretrain, offline_actions, offline_rewards, 150, online=False, target_return=target_return, seed=0)
    pretrained_reward = _bandit_reward(_bandit_act(policy, 1, target_return)).item()
    assert pretrained_reward < 0.4

    final = {}
    for rl_coeff in (0.0, 1.0):
        loss = ODTTD3Loss(copy.deepcopy(policy), copy.deepcopy(critic), actor_rl_coeff=rl_coeff, tau=0.05)
        _bandit_train(loss, offline_actions, offline_rewards, 200, online=True, target_return=target_return, seed=1)
        final[rl_coeff] = _bandit_reward(_bandit_act(loss.policy, 1, target_return)).item()
    assert final[1.0] > 0.8, final
    assert final[0.0] < 0.5, final
    assert final[1.0] > pretrained_reward + 0.4
