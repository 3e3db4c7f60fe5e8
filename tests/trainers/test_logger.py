"""Logger: CSV layout, flushing, resume, config.json and wandb without network."""

from __future__ import annotations

import dataclasses
import json
import math
import socket

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from rlkit.trainers.logger import Logger, read_metrics, resolve_wandb_mode


def test_new_keys_widen_the_header(tmp_path):
    with Logger(tmp_path) as logger:
        logger.log({"a": 1}, step=0)
        logger.log({"a": torch.tensor(2), "b": 3.5}, step=1)
        logger.log({"b": torch.tensor(4.0), "flag": torch.tensor(True), "n": np.float32(0.5)}, step=2)
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines == ["step,a,b,flag,n", "0,1,,,", "1,2,3.5,,", "2,,4.0,1,0.5"]
    columns = read_metrics(tmp_path / "metrics.csv")
    assert columns["step"].tolist() == [0, 1, 2]
    assert columns["a"][:2].tolist() == [1, 2] and math.isnan(columns["a"][2])
    assert math.isnan(columns["b"][0]) and columns["b"][1:].tolist() == [3.5, 4.0]


def test_tensordict_metrics_are_flattened(tmp_path):
    losses = TensorDict({"loss_actor": torch.tensor(0.5), "aux": {"kl": torch.tensor(2.0)}}, [])
    with Logger(tmp_path) as logger:
        assert logger.log(losses, step=0) == {"loss_actor": 0.5, "aux.kl": 2.0}
    assert (tmp_path / "metrics.csv").read_text() == "step,loss_actor,aux.kl\n0,0.5,2.0\n"


def test_each_row_is_on_disk_before_close(tmp_path):
    logger = Logger(tmp_path)
    returned = logger.log({"loss": torch.tensor(0.25, dtype=torch.float64), "steps": torch.tensor(3)}, step=7)
    assert returned == {"loss": 0.25, "steps": 3} and isinstance(returned["steps"], int)
    assert (tmp_path / "metrics.csv").read_text() == "step,loss,steps\n7,0.25,3\n"
    logger.close()
    logger.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        logger.log({"loss": 1.0}, step=8)


def test_bad_values_and_steps_are_rejected(tmp_path):
    with Logger(tmp_path) as logger:
        with pytest.raises(ValueError, match="'q' is a tensor of shape \\(2,\\)"):
            logger.log({"q": torch.zeros(2)}, step=0)
        with pytest.raises(TypeError, match="'name' is a str"):
            logger.log({"name": "x"}, step=0)
        with pytest.raises(ValueError, match="other than 'step'"):
            logger.log({"step": 1}, step=0)
        logger.log({"a": 1.0}, step=5)
        logger.log({"a": 2.0}, step=5)  # a second call at the same step is allowed (e.g. eval metrics)
        with pytest.raises(ValueError, match="step 4 is before the last logged step 5"):
            logger.log({"a": 1.0}, step=4)
        with pytest.raises(TypeError, match="step must be an int"):
            logger.log({"a": 1.0}, step=1.5)
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["step,a", "5,1.0", "5,2.0"]


def test_existing_run_needs_resume(tmp_path):
    Logger(tmp_path).close()
    with pytest.raises(FileExistsError, match="resume=True"):
        Logger(tmp_path)


def test_resume_drops_rows_after_checkpoint_and_partial_line(tmp_path):
    with Logger(tmp_path) as logger:
        for step in range(6):
            logger.log({"loss": float(step)}, step=step)
    with (tmp_path / "metrics.csv").open("a") as handle:
        handle.write("6,6.")  # a crash in the middle of a row
    with Logger(tmp_path, resume=True, resume_step=3) as logger:
        logger.log({"loss": 40.0, "extra": 1}, step=4)
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "step,loss,extra", "0,0.0,", "1,1.0,", "2,2.0,", "3,3.0,", "4,40.0,1"
    ]
    # no resume_step: keep every row and continue after the last one
    with Logger(tmp_path, resume=True) as logger, pytest.raises(ValueError, match="before the last logged step 4"):
        logger.log({"loss": 0.0}, step=3)


@dataclasses.dataclass
class _Config:
    lr: float = 3e-4
    hidden: tuple = (256, 256)
    env: str = "Hopper-v5"


def test_config_json(tmp_path):
    Logger(tmp_path, config=_Config()).close()
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 3e-4, "hidden": [256, 256], "env": "Hopper-v5"}
    with pytest.warns(UserWarning, match=r"changes config entries \['lr'\]"):
        Logger(tmp_path, config=_Config(lr=1e-3), resume=True).close()
    assert json.loads((tmp_path / "config.json").read_text())["lr"] == 1e-3
    with pytest.raises(TypeError, match=r"config entry config.model.fn is a builtin_function_or_method"):
        Logger(tmp_path / "x", config={"model": {"fn": print}})


def test_wandb_mode_resolution(monkeypatch, tmp_path):
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc here
    assert resolve_wandb_mode() == "offline"
    (tmp_path / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    (tmp_path / ".netrc").chmod(0o600)
    assert resolve_wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_wandb_mode() == "disabled"
    assert resolve_wandb_mode("offline") == "offline"
    with pytest.raises(ValueError, match="wandb_mode must be one of"):
        resolve_wandb_mode("cloud")


@pytest.fixture
def no_network(monkeypatch):
    """Fail any connection that leaves this machine (wandb's own local service may use loopback)."""
    original = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else "local"
        if host not in ("local", "127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access to {address}")
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail(f"network access to {a}"))


def test_wandb_disabled_writes_only_csv(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("HOME", str(tmp_path))
    with Logger(tmp_path / "run", use_wandb=True, wandb_project="p", config={"a": 1}) as logger:
        logger.log({"x": torch.tensor(1.5)}, step=0)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "metrics.csv"]


def test_wandb_offline_writes_under_run_dir(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Logger(tmp_path / "run", use_wandb=True, wandb_project="p", wandb_mode="offline") as logger:
        logger.log({"x": 1.0}, step=0)
        logger.log({"x": 2.0}, step=1)
    run_id = (tmp_path / "run" / "wandb_run_id").read_text().strip()
    files = list((tmp_path / "run" / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb"))
    assert len(files) == 1 and files[0].stat().st_size > 0
