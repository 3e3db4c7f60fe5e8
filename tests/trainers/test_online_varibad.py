"""The online variant: collected meta-episodes become consistent trajectories; RL steps never touch the VAE."""

from __future__ import annotations

import numpy as np
import torch

from rlkit.agents.offline_dqn import OfflineDQN
from rlkit.envs.meta.grid_navi import GridNaviFamily
from rlkit.modules.belief import BeliefEncoder, GridRewardDecoder
from rlkit.objectives.elbo import BeliefELBOLoss
from rlkit.trainers.online_varibad import OnlineVariBAD


def _trainer(seed: int = 0) -> tuple[OnlineVariBAD, GridNaviFamily]:
    torch.manual_seed(seed)
    family = GridNaviFamily()
    encoder = BeliefEncoder(2, 5, latent_dim=3, hidden_size=16, action_embed=0, reward_embed=8)
    elbo = BeliefELBOLoss(encoder, GridRewardDecoder(3))
    agent = OfflineDQN(2 + 6, 5, (16,))
    tasks = family.sample_tasks(3, np.random.default_rng(seed))
    return OnlineVariBAD(family, tasks, 2, elbo, agent, vae_tasks_batch=2, vae_trajs_per_task=2, meta_batch=2,
                         batch_size=8, seed=seed), family


def test_collected_trajectories_are_the_env_transitions():
    trainer, family = _trainer()
    trainer.collect(4, random=True)
    stored = torch.cat([td for td in trainer.buffer if td is not None])
    assert stored.batch_size[0] == 4 and stored.get("obs").shape == (4, 30, 2) and stored.get("action").shape[-1] == 5
    obs, next_obs, action = stored.get("obs"), stored.get("next_obs"), stored.get("action")
    # within an episode the next state is the next step's state; each episode starts at (0, 0)
    assert torch.equal(next_obs[:, :14], obs[:, 1:15]) and torch.equal(next_obs[:, 15:29], obs[:, 16:30])
    assert (obs[:, [0, 15]] == 0).all()
    assert stored.get("done")[:, :, 0].nonzero()[:, 1].unique().tolist() == [14, 29]
    assert not stored.get("terminated").any()
    reward = family.reward(stored.get("task")[:, None].expand(4, 30, 2), obs, action.argmax(-1, keepdim=True),
                           next_obs)
    torch.testing.assert_close(stored.get("reward")[..., 0], reward.float())
    # the move taken is the one-hot action's move
    moves = torch.tensor([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]], dtype=torch.float32)
    torch.testing.assert_close(next_obs[:, :14], (obs[:, :14] + moves[action[:, :14].argmax(-1)]).clamp(0, 4))


def test_agent_updates_leave_the_vae_alone_and_vae_updates_change_it():
    trainer, _ = _trainer()
    trainer.collect(4, random=True)
    before = {k: v.clone() for k, v in trainer.elbo.state_dict().items()}
    trainer.train_agent(3)
    assert all(torch.equal(before[k], v) for k, v in trainer.elbo.state_dict().items())
    trainer.train_vae(2)
    assert any(not torch.equal(before[k], v) for k, v in trainer.elbo.state_dict().items())
    assert trainer.steps == {"vae": 2, "rl": 3, "collected": 4 * 30}


def test_buffer_keeps_the_newest_meta_episodes_per_task():
    trainer, _ = _trainer()
    trainer.buffer_size = 2
    for _ in range(4):
        trainer.collect(3, random=True)
    sizes = [0 if td is None else td.batch_size[0] for td in trainer.buffer]
    assert max(sizes) <= 2 and sum(sizes) >= 3
