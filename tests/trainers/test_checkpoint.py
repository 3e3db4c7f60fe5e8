"""Checkpointer: exact resume, pruning, atomic writes, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from rlkit.data.normalizers import RunningMeanStd
from rlkit.trainers.checkpoint import Checkpointer, CheckpointError
from rlkit.trainers.logger import Logger, read_metrics
from rlkit.trainers.seeding import seed_everything

N = 6  # steps before the checkpoint; the runs are 2N steps long


class _Run:
    """A tiny training setup touching every RNG: torch/numpy generators for data, global RNGs, dropout."""

    def __init__(self, seed: int) -> None:
        seed_everything(seed)
        self.model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
        self.optim = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        self.sched = torch.optim.lr_scheduler.StepLR(self.optim, step_size=3, gamma=0.5)
        self.gen = torch.Generator().manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self.normalizer = RunningMeanStd(4)
        self.samples = 0

    def objects(self) -> dict:
        return dict(model=self.model, optim=self.optim, sched=self.sched, gen=self.gen, np_rng=self.np_rng,
                    normalizer=self.normalizer)

    def train(self, start: int, stop: int, logger: Logger, ckpt: Checkpointer | None = None, save_at: int = -1):
        for step in range(start, stop):
            x = torch.randn(8, 4, generator=self.gen) + torch.from_numpy(self.np_rng.normal(size=(8, 4))).float()
            scale = random.random() + float(np.random.rand())  # Python and numpy global RNGs
            self.normalizer.update(x)
            xn = self.normalizer.normalize(x)
            loss = nn.functional.mse_loss(self.model(xn), xn.sum(1, keepdim=True) * scale)  # dropout: torch RNG
            self.optim.zero_grad()
            loss.backward()
            self.optim.step()
            self.sched.step()
            self.samples += 8
            logger.log({"loss": loss.detach(), "lr": self.sched.get_last_lr()[0]}, step=step)
            if step == save_at:
                ckpt.save(step, counters={"samples": self.samples}, **self.objects())


def test_resume_continues_bit_identically(tmp_path):
    straight = _Run(seed=0)
    with Logger(tmp_path / "straight") as logger:
        straight.train(0, 2 * N, logger)

    ckpt = Checkpointer(tmp_path / "resumed" / "ckpt")
    first = _Run(seed=0)
    logger = Logger(tmp_path / "resumed")
    first.train(0, N + 3, logger, ckpt, save_at=N - 1)  # runs 3 steps past the checkpoint, then "crashes"
    logger.close()

    second = _Run(seed=123)  # fresh objects, different weights and RNG states: everything must come from the file
    state = ckpt.load("latest", **second.objects())
    assert state["step"] == N - 1 and state["counters"] == {"samples": 8 * N}
    second.samples = state["counters"]["samples"]
    with Logger(tmp_path / "resumed", resume=True, resume_step=state["step"]) as logger:
        second.train(state["step"] + 1, 2 * N, logger)

    for a, b in zip(straight.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    opt_a, opt_b = straight.optim.state_dict(), second.optim.state_dict()
    assert opt_a["param_groups"] == opt_b["param_groups"]
    for key, slot in opt_a["state"].items():
        for name, value in slot.items():
            assert torch.equal(value, opt_b["state"][key][name]), (key, name)
    assert straight.sched.state_dict() == second.sched.state_dict()
    assert torch.equal(straight.normalizer.mean, second.normalizer.mean)
    assert straight.samples == second.samples == 8 * 2 * N

    csv_straight = (tmp_path / "straight" / "metrics.csv").read_text()
    csv_resumed = (tmp_path / "resumed" / "metrics.csv").read_text()
    assert csv_resumed == csv_straight  # same losses to the last digit, every step once
    assert read_metrics(tmp_path / "resumed" / "metrics.csv")["step"].tolist() == list(range(2 * N))


def test_generators_and_plain_values_round_trip(tmp_path):
    ckpt = Checkpointer(tmp_path)
    np_gen, np_rs, py_rng = np.random.default_rng(1), np.random.RandomState(2), random.Random(3)
    values = {"count": 7, "array": np.arange(3, dtype=np.uint32), "nested": {"t": torch.ones(2), "xs": (1, 2.5)}}
    ckpt.save(5, np_gen=np_gen, np_rs=np_rs, py_rng=py_rng, values=values)
    expected = (np_gen.random(), np_rs.rand(), py_rng.random())
    np_gen.random(), np_rs.rand(), py_rng.random()  # move on, so load must rewind them
    state = ckpt.load("latest", np_gen=np_gen, np_rs=np_rs, py_rng=py_rng)
    assert (np_gen.random(), np_rs.rand(), py_rng.random()) == expected
    loaded = state["values"]
    assert loaded["count"] == 7 and loaded["nested"]["xs"] == (1, 2.5)
    assert loaded["array"].dtype == np.uint32 and loaded["array"].tolist() == [0, 1, 2]
    assert torch.equal(loaded["nested"]["t"], torch.ones(2))


def test_global_rng_is_restored(tmp_path):
    ckpt = Checkpointer(tmp_path)
    seed_everything(11)
    ckpt.save(0)
    expected = (random.random(), float(np.random.rand()), torch.rand(()).item())
    seed_everything(99)
    ckpt.load("latest")
    assert (random.random(), float(np.random.rand()), torch.rand(()).item()) == expected


def test_keeps_last_and_finds_latest(tmp_path):
    ckpt = Checkpointer(tmp_path, keep_last=2)
    assert ckpt.latest() is None
    for step in (1, 10, 2, 30):  # a lower step rewinds the timeline: later checkpoints go
        ckpt.save(step, counter=step)
    assert [s for s, _ in ckpt.checkpoints()] == [2, 30]
    assert ckpt.latest() == ckpt.path_for(30)
    assert ckpt.load()["counter"] == 30
    ckpt.save(3, counter=3)
    assert [s for s, _ in ckpt.checkpoints()] == [2, 3]


class _Unpicklable:
    def state_dict(self):
        return {"fn": lambda: 0}  # torch.save fails on this, half-way through writing

    def load_state_dict(self, state):
        pass


def test_failed_save_leaves_no_temp_file_and_keeps_previous(tmp_path):
    ckpt = Checkpointer(tmp_path)
    good = ckpt.save(1, counter=1)
    with pytest.raises(Exception, match="lambda|pickle"):
        ckpt.save(2, bad=_Unpicklable())
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]
    assert ckpt.load()["counter"] == 1


def test_non_plain_value_is_rejected_before_writing(tmp_path):
    ckpt = Checkpointer(tmp_path)
    with pytest.raises(TypeError, match="'config'"):
        ckpt.save(0, config={"f": object()})
    assert list(tmp_path.iterdir()) == []


def test_missing_entry_is_named(tmp_path):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(4, model=nn.Linear(2, 2))
    with pytest.raises(CheckpointError, match=r"no entry \['critic'\].*holds \['model'\]"):
        ckpt.load("latest", model=nn.Linear(2, 2), critic=nn.Linear(2, 2))


def test_state_dict_mismatch_names_object(tmp_path):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(4, model=nn.Linear(2, 2))
    with pytest.raises(CheckpointError, match=r"(?s)could not restore 'model' \(Sequential\).*Missing key"):
        ckpt.load("latest", model=nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(CheckpointError, match="saved from a Linear but is being loaded into a Generator"):
        ckpt.load("latest", model=torch.Generator())


def test_missing_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Checkpointer(tmp_path / "empty").load("latest")
    with pytest.raises(CheckpointError, match="does not exist"):
        Checkpointer(tmp_path).load(tmp_path / "nope.pt")
    (tmp_path / "other.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="could not read"):
        Checkpointer(tmp_path).load(tmp_path / "other.pt")
