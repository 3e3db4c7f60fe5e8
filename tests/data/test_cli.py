"""build_dataset and ``python -m rlkit.data {build,list,info}`` on tiny datasets."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from rlkit.data import keys as K
from rlkit.data.build import UnknownDatasetError, build_dataset
from rlkit.data.cli import main, summarize
from rlkit.data.d4rl_io import load_d4rl, load_d4rl_metadata
from rlkit.data.generators.maze2d import generate_maze2d
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.scores import reference_scores


def parse_summary(text: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in text.strip().splitlines())


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """rlkit's cache and D4RL's folders point into tmp_path, so nothing on the machine is read or written."""
    monkeypatch.setenv("RLKIT_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("D4RL_DATASET_DIR", str(tmp_path / "d4rl"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_build_dataset_writes_the_generated_arrays_and_metadata(tmp_path):
    path = build_dataset("maze2d-umaze-v1", out=tmp_path / "m.hdf5", steps=400, seed=2, progress=False)
    assert path == tmp_path / "m.hdf5"
    loaded = load_d4rl(path)
    expected, _ = generate_maze2d("umaze", 400, seed=2, progress=False)
    for key in (K.OBS, K.ACTION, K.REWARD, K.TRUNCATED, K.HAS_NEXT, K.EPISODE, ("infos", "goal")):
        assert torch.equal(loaded.get(key), expected.get(key)), key
    meta = load_d4rl_metadata(path)
    assert str(meta["name"]) == "maze2d-umaze-v1" and int(meta["seed"]) == 2 and int(meta["steps"]) == 400
    assert str(meta["generator"]).endswith("maze2d.build_maze2d_umaze_v1")
    assert str(meta["settings"]["env_id"]) == "PointMaze_UMaze-v3" and "mujoco" in meta["versions"]


def test_build_dataset_refuses_bad_requests(tmp_path):
    with pytest.raises(UnknownDatasetError, match="buildable names: .*maze2d-umaze-v1"):
        build_dataset("maze2d-tiny-v9", out=tmp_path / "x.hdf5")
    with pytest.raises(ValueError, match="steps must be an integer >= 1; got 0"):
        build_dataset("maze2d-umaze-v1", out=tmp_path / "x.hdf5", steps=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got 1.5"):
        build_dataset("maze2d-umaze-v1", out=tmp_path / "x.hdf5", steps=10, seed=1.5)
    existing = tmp_path / "exists.hdf5"
    existing.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        build_dataset("maze2d-umaze-v1", out=existing, steps=10, progress=False)
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "x.hdf5").exists()


def test_cli_build_refuses_to_overwrite_then_overwrites(tmp_path, capsys):
    out = tmp_path / "h.hdf5"
    argv = ["build", "hopper-random-v2", "--steps", "300", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out)
    before = load_d4rl(out).get(K.OBS).clone()

    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    assert main([*argv, "--overwrite", "--seed", "1"]) == 0
    assert not torch.equal(load_d4rl(out).get(K.OBS), before)

    assert main([*argv[:-1], "--skip-existing"]) == 0  # exists: summarised, not rebuilt
    assert "hopper-random-v2" in capsys.readouterr().out


def test_cli_build_prints_a_summary_and_list_shows_the_file(isolated_dirs, capsys):
    assert main(["build", "maze2d-umaze-v1", "--steps", "650"]) == 0
    summary = parse_summary(capsys.readouterr().out)
    assert summary["dataset"] == "maze2d-umaze-v1"
    assert summary["transitions"] == "650 (647 with a known next observation)"  # no s' at 2 timeouts + last row
    assert summary["episodes"] == "3 (2 complete; 0 terminals, 2 timeouts)"
    assert (summary["observation"], summary["action"]) == ("(4,)", "(2,)")
    assert summary["normalized"].startswith("mean ") and summary["steps"] == "650"

    assert main(["list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:2] == ["name", "default"]
    rows = {line.split()[0]: line for line in listing[1:]}
    assert {"maze2d-umaze-v1", "maze2d-large-dense-v1", "hopper-random-v2", "ant-random-v2"} <= set(rows)
    assert str(isolated_dirs / "cache" / "maze2d-umaze-v1.hdf5") in rows["maze2d-umaze-v1"]
    assert "1,000,000" in rows["maze2d-umaze-v1"] and "4,000,000" in rows["maze2d-large-v1"]
    assert rows["hopper-random-v2"].split()[2] == "-"  # not built


def test_cli_info_by_name_and_by_file(isolated_dirs, capsys):
    path = build_dataset("hopper-random-v2", steps=500, seed=0, progress=False)
    assert main(["info", "hopper-random-v2"]) == 0
    by_name = capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    by_file = capsys.readouterr().out
    assert by_name == by_file
    summary = parse_summary(by_name)
    assert summary["path"] == str(path) and summary["dataset"] == "hopper-random-v2"
    assert (summary["observation"], summary["action"]) == ("(11,)", "(3,)")
    assert summary["normalized"].startswith("mean ") and "D4RL reference scores of hopper-random-v2" in by_name


def test_cli_user_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["build", "no-such-dataset-v0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no builder for dataset 'no-such-dataset-v0'") and "hopper-random-v2" in err
    assert len(err.strip().splitlines()) == 1

    bad = tmp_path / "bad.hdf5"
    bad.write_bytes(b"not hdf5")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

    with pytest.raises(SystemExit) as exc:
        main(["build", "hopper-random-v2", "--steps", "-5"])
    assert exc.value.code == 2 and "must be positive" in capsys.readouterr().err


def test_module_entry_point_exits_nonzero_on_unknown_name():
    result = subprocess.run(
        [sys.executable, "-m", "rlkit.data", "build", "nope-v0", "--quiet"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "error: no builder for dataset 'nope-v0'" in result.stderr and "Traceback" not in result.stderr


def test_summary_hand_computed():
    # episode 0: rows 0-2 terminated (return 3); episode 1: rows 3-4 timeout (return 4); episode 2: cut (return 9)
    rewards = np.array([1, 1, 1, 2, 2, 9], np.float32)
    terminals = np.array([0, 0, 1, 0, 0, 0], bool)
    timeouts = np.array([0, 0, 0, 0, 1, 0], bool)
    obs, actions = np.zeros((6, 3), np.float32), np.zeros((6, 2), np.float32)
    td: TensorDict = transitions_from_arrays(obs, actions, rewards, terminals, timeouts)
    s = summarize(td, path="x", name="hopper-random-v2")
    assert (s.transitions, s.episodes, s.complete_episodes, s.terminals, s.timeouts) == (6, 3, 2, 1, 1)
    assert (s.return_mean, s.return_std, s.return_min, s.return_max, s.length_mean) == (3.5, 0.5, 3.0, 4.0, 2.5)
    ref_min, ref_max = reference_scores("hopper-random-v2")
    assert s.normalized_score_mean == pytest.approx(100 * (3.5 - ref_min) / (ref_max - ref_min))
    assert summarize(td, path="x", name="my-own-data").normalized_score_mean is None
