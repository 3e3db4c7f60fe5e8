"""rlkit.data.d4rl_io: D4RL hdf5 files (both layouts) <-> TensorDicts, exactly, without extra copies."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from rlkit.data import d4rl_io, load_d4rl, load_d4rl_metadata, save_d4rl, transitions_from_arrays, transitions_only
from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from tests.data.d4rl_fixtures import d4rl_metadata, maze_arrays, mujoco_arrays, read_hdf5, write_hdf5

HAS_PROC_MAPS = Path("/proc/self/maps").exists()


def assert_identical(a, b):
    """Same leaf keys, shapes, dtypes and bytes."""
    a_keys = set(a.keys(include_nested=True, leaves_only=True))
    assert a_keys == set(b.keys(include_nested=True, leaves_only=True))
    assert a.batch_size == b.batch_size
    for key in a_keys:
        x, y = a.get(key), b.get(key)
        assert (x.dtype, x.shape) == (y.dtype, y.shape), key
        assert x.numpy().tobytes() == y.numpy().tobytes(), key


def assert_trees_equal(a, b, where="/"):
    assert set(a) == set(b), where
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, dict):
            assert_trees_equal(x, y, f"{where}{name}/")
        elif isinstance(x, str):
            assert x == y, where + name
        else:
            assert (x.dtype, x.shape) == (y.dtype, y.shape), where + name
            assert x.tobytes() == y.tobytes(), where + name


def mapped_file(tensor: torch.Tensor) -> str | None:
    """The file whose mapping holds the tensor's memory, from /proc/self/maps (None for anonymous memory)."""
    address = tensor.untyped_storage().data_ptr()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return fields[5].strip() if len(fields) == 6 else None
    return None


def with_flags_as_bool(tree):
    return {**tree, "terminals": tree["terminals"].astype(bool), "timeouts": tree["timeouts"].astype(bool)}


# ------------------------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_mujoco_file_round_trips_exactly(tmp_path, compression):
    tree = {**mujoco_arrays(flag_dtype=np.float32), "metadata": d4rl_metadata()}
    original = write_hdf5(tmp_path / "hopper.hdf5", tree, compression=compression)

    td = load_d4rl(original)
    np.testing.assert_array_equal(td[K.OBS].numpy(), tree["observations"])
    np.testing.assert_array_equal(td[K.NEXT_OBS].numpy(), tree["next_observations"])
    np.testing.assert_array_equal(td[K.REWARD].numpy(), tree["rewards"][:, None])
    assert td[K.TERMINATED].dtype == torch.bool and td[K.TERMINATED].squeeze(-1).nonzero().tolist() == [[8]]
    assert td[K.TRUNCATED].squeeze(-1).nonzero().tolist() == [[4]]
    assert bool(td[K.HAS_NEXT].all())
    np.testing.assert_array_equal(td["infos", "contact", "forces"].numpy(), tree["infos"]["contact"]["forces"])

    written = save_d4rl(td, tmp_path / "copy.hdf5", metadata=load_d4rl_metadata(original))
    assert_identical(load_d4rl(written), td)
    # the file written holds the original's datasets; 0/1 float flags become bool, the one documented change
    assert_trees_equal(read_hdf5(written), with_flags_as_bool(read_hdf5(original)))


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_maze_file_round_trips_exactly(tmp_path, compression):
    tree = {**maze_arrays(), "metadata": {"algorithm": "waypoint controller", "seed": np.int32(3)}}
    original = write_hdf5(tmp_path / "maze2d.hdf5", tree, compression=compression)

    td = load_d4rl(original)
    assert td[K.HAS_NEXT].tolist() == [True] * 4 + [False] + [True] * 6 + [False]
    written = save_d4rl(td, tmp_path / "out" / "copy.hdf5", metadata=load_d4rl_metadata(original))
    assert written == tmp_path / "out" / "copy.hdf5"
    assert_identical(load_d4rl(written), td)
    copied = read_hdf5(written)
    assert "next_observations" not in copied  # layout=None chose "maze" because some has_next is False
    assert_trees_equal(copied, read_hdf5(original))


def test_saving_over_the_mapped_file_it_was_loaded_from(tmp_path):
    path = write_hdf5(tmp_path / "d.hdf5", {**mujoco_arrays(), "metadata": {"algorithm": "SAC"}})
    td = load_d4rl(path)  # memory-mapped from path; the atomic replace leaves the mapped bytes alive
    expected = td.clone()
    save_d4rl(td, path, metadata={"algorithm": "SAC", "note": "relabelled"})
    assert_identical(td, expected)
    assert_identical(load_d4rl(path), expected)
    assert load_d4rl_metadata(path) == {"algorithm": "SAC", "note": "relabelled"}


def test_maze_next_observations_and_episodes_by_hand(tmp_path):
    obs = np.arange(14, dtype=np.float32).reshape(7, 2)
    tree = {
        "observations": obs,
        "actions": np.zeros((7, 1), np.float32),
        "rewards": np.arange(7, dtype=np.float32),
        "terminals": np.array([0, 0, 0, 0, 1, 0, 0], dtype=bool),
        "timeouts": np.array([0, 0, 1, 0, 0, 0, 0], dtype=bool),
    }
    td = load_d4rl(write_hdf5(tmp_path / "hand.hdf5", tree))
    assert td[K.EPISODE].tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert td[K.STEP].tolist() == [0, 1, 2, 0, 1, 0, 1]
    # row 2: time limit, s' unknown; row 4: terminal, s' kept (D4RL takes the next row); row 6: end of file
    assert td[K.HAS_NEXT].tolist() == [True, True, False, True, True, True, False]
    assert td[K.DONE].squeeze(-1).tolist() == [False, False, True, False, True, False, False]
    next_obs = td[K.NEXT_OBS].numpy()
    np.testing.assert_array_equal(next_obs[[0, 1, 3, 4, 5]], [[2, 3], [4, 5], [8, 9], [10, 11], [12, 13]])
    # the complete transitions are the rows d4rl.qlearning_dataset keeps (it drops timeout rows and the last row)
    assert transitions_only(td)[K.REWARD].squeeze(-1).tolist() == [0, 1, 3, 4, 5]


@pytest.mark.parametrize("flag_dtype", [np.float32, np.int8])
def test_numeric_flags_load_as_bool(tmp_path, flag_dtype):
    as_bool = load_d4rl(write_hdf5(tmp_path / "bool.hdf5", mujoco_arrays()))
    as_numbers = load_d4rl(write_hdf5(tmp_path / "num.hdf5", mujoco_arrays(flag_dtype=flag_dtype)))
    assert_identical(as_numbers, as_bool)


# ------------------------------------------------------------------------------------------------------ memory maps
@pytest.mark.skipif(not HAS_PROC_MAPS, reason="needs /proc/self/maps")
@pytest.mark.filterwarnings("error")  # torch warns when it wraps a read-only array
def test_uncompressed_datasets_are_mapped_from_the_file(tmp_path):
    tree = mujoco_arrays()
    path = write_hdf5(tmp_path / "plain.hdf5", tree)
    td = load_d4rl(path)
    for key in (K.OBS, K.ACTION, K.NEXT_OBS, K.REWARD, K.TERMINATED, (K.INFOS, "qpos"), (K.INFOS, "contact", "count")):
        assert mapped_file(td[key]) == str(path), key
    # copy-on-write: the tensors are writable, and writes never reach the file
    td[K.OBS][0] += 1.0
    np.testing.assert_array_equal(load_d4rl(path)[K.OBS][0].numpy(), tree["observations"][0])

    for unmapped in (
        load_d4rl(path, mmap=False),
        load_d4rl(write_hdf5(tmp_path / "gz.hdf5", tree, compression="gzip")),
    ):
        assert mapped_file(unmapped[K.OBS]) != str(path)
        assert mapped_file(unmapped[K.ACTION]) is None or "hdf5" not in mapped_file(unmapped[K.ACTION])
        np.testing.assert_array_equal(unmapped[K.OBS].numpy(), tree["observations"])

    # what save_d4rl writes can be mapped too
    saved = save_d4rl(load_d4rl(path), tmp_path / "saved.hdf5")
    assert mapped_file(load_d4rl(saved)[K.OBS]) == str(saved)


@pytest.mark.skipif(not HAS_PROC_MAPS, reason="needs /proc/self/maps")
def test_maze_observations_are_read_once_into_the_buffer_next_observations_view(tmp_path, monkeypatch):
    path = write_hdf5(tmp_path / "maze.hdf5", maze_arrays())
    calls = []
    spy = lambda *args, **kwargs: calls.append(kwargs) or transitions_from_arrays(*args, **kwargs)
    monkeypatch.setattr(d4rl_io, "transitions_from_arrays", spy)
    td = load_d4rl(path)
    # read straight into the (N + 1)-row buffer, so the layout needs no second copy
    buffer, observations = calls[0]["observation_buffer"], calls[0]["observations"]
    assert buffer.shape == (13, 4) and observations.data_ptr() == buffer.data_ptr()
    assert mapped_file(td[K.ACTION]) == str(path)
    obs, next_obs = td[K.OBS], td[K.NEXT_OBS]
    assert obs.untyped_storage().data_ptr() == next_obs.untyped_storage().data_ptr()  # one (N + 1)-row buffer
    assert next_obs.data_ptr() == obs.data_ptr() + obs.stride(0) * obs.element_size()


@pytest.mark.parametrize("arrays", [mujoco_arrays, maze_arrays])
def test_compressed_files_load_identically(tmp_path, arrays):
    tree = arrays()
    plain = load_d4rl(write_hdf5(tmp_path / "plain.hdf5", tree))
    assert_identical(load_d4rl(write_hdf5(tmp_path / "gz.hdf5", tree, compression="gzip")), plain)
    assert_identical(load_d4rl(write_hdf5(tmp_path / "lzf.hdf5", tree, compression="lzf"), mmap=False), plain)


# --------------------------------------------------------------------------------------------------------- metadata
def test_metadata_is_decoded_and_keeps_dtypes(tmp_path):
    path = write_hdf5(tmp_path / "m.hdf5", {**mujoco_arrays(), "metadata": d4rl_metadata()})
    meta = load_d4rl_metadata(path)
    assert meta["algorithm"] == "SAC" and meta["policy"]["nonlinearity"] == "relu"
    assert meta["iteration"] == 1_000_000 and meta["iteration"].dtype == np.int64
    np.testing.assert_array_equal(meta["policy"]["fc0"]["weight"], d4rl_metadata()["policy"]["fc0"]["weight"])


def test_metadata_with_only_algorithm(tmp_path):
    path = write_hdf5(tmp_path / "m.hdf5", {**maze_arrays(), "metadata": {"algorithm": np.bytes_(b"BC")}})
    assert load_d4rl_metadata(path) == {"algorithm": "BC"}
    assert load_d4rl(path).batch_size == (12,)


def test_metadata_absent_is_empty(tmp_path):
    assert load_d4rl_metadata(write_hdf5(tmp_path / "m.hdf5", maze_arrays())) == {}


def test_metadata_string_arrays_round_trip(tmp_path):
    td = load_d4rl(write_hdf5(tmp_path / "a.hdf5", maze_arrays()))
    meta = {"tasks": ["left", "right"], "scale": 0.5, "flag": True, "nested": {"ids": np.arange(3)}}
    back = load_d4rl_metadata(save_d4rl(td, tmp_path / "b.hdf5", metadata=meta))
    assert back["tasks"].tolist() == ["left", "right"] and back["scale"] == 0.5 and back["flag"]
    np.testing.assert_array_equal(back["nested"]["ids"], np.arange(3))


# ------------------------------------------------------------------------------------------------------- bad files
def _drop(name):
    return lambda tree: tree.pop(name)


def _set(name, value):
    return lambda tree: tree.__setitem__(name, value(tree))


def _nan_observation(tree):
    tree["observations"][3, 1] = np.nan


@pytest.mark.parametrize("arrays", [mujoco_arrays, maze_arrays])
@pytest.mark.parametrize(
    "mutate, message",
    [
        (_drop("rewards"), "missing dataset 'rewards'"),
        (_drop("observations"), "missing dataset 'observations'"),
        (_drop("timeouts"), "missing dataset 'timeouts'"),
        (_set("actions", lambda t: t["actions"][:10]), "'actions' has 10 rows; expected 12"),
        (_nan_observation, "'observations' has 1 non-finite value(s) (NaN/inf), first at row 3"),
        (_set("rewards", lambda t: np.where(np.arange(12) == 5, np.inf, t["rewards"])), "'rewards' has 1 non-finite"),
        (_set("observations", lambda t: np.array([b"abc"] * 12)), "'observations' has dtype |S3, which is not numeric"),
        (_set("rewards", lambda t: np.zeros((12, 3), np.float32)), "'rewards' has shape (12, 3); expected (12,)"),
        (_set("terminals", lambda t: np.full(12, 2, np.int8)), "'terminals' holds 2"),
        (_set("rewards", lambda t: {"a": t["rewards"]}), "'rewards' is a Group; expected an array dataset"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, arrays, mutate, message):
    tree = arrays()
    mutate(tree)
    path = write_hdf5(tmp_path / "bad.hdf5", tree)
    with pytest.raises(DatasetError) as info:
        load_d4rl(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_bad_infos_are_named(tmp_path):
    tree = mujoco_arrays()
    tree["infos"]["contact"]["count"] = np.arange(11)
    with pytest.raises(DatasetError, match=r"bad\.hdf5: 'infos/contact/count' has 11 rows; expected 12"):
        load_d4rl(write_hdf5(tmp_path / "bad.hdf5", tree))


@pytest.mark.parametrize("loader", [load_d4rl, load_d4rl_metadata])
def test_truncated_and_non_hdf5_files_raise_dataset_error(tmp_path, loader):
    path = write_hdf5(tmp_path / "cut.hdf5", {**mujoco_arrays(n=2000), "metadata": d4rl_metadata()})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=f"{path}: cannot read it as an HDF5 file.*truncated"):
        loader(path)
    text = tmp_path / "notes.hdf5"
    text.write_text("not an hdf5 file\n" * 100)
    with pytest.raises(DatasetError, match=f"{text}: cannot read it as an HDF5 file"):
        loader(text)


@pytest.mark.parametrize("loader", [load_d4rl, load_d4rl_metadata])
def test_missing_path_raises_file_not_found_with_the_path(tmp_path, loader):
    path = tmp_path / "nowhere" / "hopper-medium-v2.hdf5"
    with pytest.raises(FileNotFoundError, match=str(path)) as info:
        loader(path)
    assert info.value.filename == str(path)


def test_unknown_top_level_entries_are_named_in_a_warning(tmp_path):
    path = write_hdf5(tmp_path / "x.hdf5", {**maze_arrays(), "extra_stuff": np.zeros(3)})
    with pytest.warns(UserWarning, match=r"ignoring entries \['extra_stuff'\]"):
        load_d4rl(path)


# --------------------------------------------------------------------------------------------------------- bad saves
def _only_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_invalid_tensordict_writes_nothing_and_keeps_an_existing_file(tmp_path):
    td = load_d4rl(write_hdf5(tmp_path / "src.hdf5", maze_arrays()))
    out = tmp_path / "out"
    out.mkdir()
    broken = td.clone()
    del broken["next", "reward"]
    with pytest.raises(DatasetError, match=r"missing key\(s\) \[\('next', 'reward'\)\]"):
        save_d4rl(broken, out / "new.hdf5")
    assert _only_files(out) == []

    existing = save_d4rl(td, out / "kept.hdf5")
    before = existing.read_bytes()
    broken = td.clone()
    broken[K.OBS][2, 0] = float("nan")
    with pytest.raises(DatasetError, match="non-finite"):
        save_d4rl(broken, existing)
    with pytest.raises(DatasetError, match=r"metadata value 'metadata/policy/act' is a set"):
        save_d4rl(td, existing, metadata={"policy": {"act": {"relu"}}})
    for bad in (None, [[1, 2], [3]], ["text", 1]):
        with pytest.raises(DatasetError, match=r"metadata value 'metadata/x' is a"):
            save_d4rl(td, existing, metadata={"x": bad})
    broken = td.clone()
    broken.set("infos", torch.zeros(12))
    with pytest.raises(DatasetError, match=r"'infos' is a Tensor; expected a TensorDict"):
        save_d4rl(broken, existing)
    assert existing.read_bytes() == before and _only_files(out) == ["kept.hdf5"]


def test_failure_while_writing_removes_the_temporary_file(tmp_path, monkeypatch):
    td = load_d4rl(write_hdf5(tmp_path / "src.hdf5", maze_arrays()))
    existing = save_d4rl(td, tmp_path / "out" / "kept.hdf5")
    before = existing.read_bytes()

    def write_half_then_fail(group, tree):
        group.create_dataset("observations", data=tree["observations"])
        raise OSError("disk full")

    monkeypatch.setattr(d4rl_io, "_write_tree", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_d4rl(td, existing)
    assert existing.read_bytes() == before and _only_files(existing.parent) == ["kept.hdf5"]


def test_mujoco_layout_refuses_rows_without_a_known_next_observation(tmp_path):
    td = load_d4rl(write_hdf5(tmp_path / "maze.hdf5", maze_arrays()))
    with pytest.raises(DatasetError, match=r"rows \[4, 11\] have has_next False.*use layout='maze'"):
        save_d4rl(td, tmp_path / "x.hdf5", layout="mujoco")
    assert not (tmp_path / "x.hdf5").exists()


def test_maze_layout_refuses_data_it_would_lose_or_invent(tmp_path):
    mujoco = load_d4rl(write_hdf5(tmp_path / "mujoco.hdf5", mujoco_arrays()))
    with pytest.raises(DatasetError, match=r"rows \[4, 11\] have a known s'.*use layout='mujoco'"):
        save_d4rl(mujoco, tmp_path / "x.hdf5", layout="maze")  # the timeout row's s' and the last row's

    maze = load_d4rl(write_hdf5(tmp_path / "maze.hdf5", maze_arrays()))
    changed = maze.clone()  # clone: s' no longer a view of the observations
    changed[K.NEXT_OBS][6] += 1.0
    with pytest.raises(DatasetError, match=r"differs from the next row's 'observation' at rows \[6\].*layout='mujoco'"):
        save_d4rl(changed, tmp_path / "x.hdf5", layout="maze")
    unknown = maze.clone()
    unknown[K.HAS_NEXT][6] = False
    with pytest.raises(DatasetError, match=r"rows \[6\] have has_next False.*no D4RL layout can hold them"):
        save_d4rl(unknown, tmp_path / "x.hdf5")
    assert not (tmp_path / "x.hdf5").exists()

    terminal_row = maze.clone()
    terminal_row[K.NEXT_OBS][8] += 1.0  # s' of a terminal row is not stored (D4RL's maze files do the same)
    reloaded = load_d4rl(save_d4rl(terminal_row, tmp_path / "t.hdf5"))
    torch.testing.assert_close(reloaded[K.NEXT_OBS][8], maze[K.OBS][9], rtol=0, atol=0)


def test_episodes_the_flags_cannot_express_are_refused(tmp_path):
    td = load_d4rl(write_hdf5(tmp_path / "m.hdf5", mujoco_arrays()))
    shuffled = td[torch.tensor([3, 0, 5, 1, 2, 4, 6, 7, 8, 9, 10, 11])]
    with pytest.raises(DatasetError, match=r"'episode' changes after rows.*first rows \[1, 2\]"):
        save_d4rl(shuffled, tmp_path / "x.hdf5")
    with pytest.raises(ValueError, match="layout must be one of"):
        save_d4rl(td, tmp_path / "x.hdf5", layout="antmaze")
    assert not (tmp_path / "x.hdf5").exists()


def test_keys_outside_the_layout_are_named_in_a_warning(tmp_path):
    td = load_d4rl(write_hdf5(tmp_path / "m.hdf5", mujoco_arrays()))
    td["return_to_go"] = torch.zeros(12)
    with pytest.warns(UserWarning, match=r"keys \['return_to_go'\] have no place"):
        path = save_d4rl(td, tmp_path / "x.hdf5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_d4rl(path).get("return_to_go", None) is None
    with h5py.File(path) as file:
        assert sorted(file) == [
            "actions",
            "infos",
            "next_observations",
            "observations",
            "rewards",
            "terminals",
            "timeouts",
        ]
