"""rlkit.data.names: dataset names -> local files in D4RL's and rlkit's folders, and what to do when there is none."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from rlkit.data import keys as K
from rlkit.data import registry
from rlkit.data.errors import DatasetError, DatasetNotFoundError
from rlkit.data.names import candidate_paths, load_dataset, resolve_dataset

FAKE_BUILDABLE = "rlkit-test-fake-builder-v0"  # registered by no module: only by the fake registry below


def write_maze_file(path: Path, n: int = 6, offset: float = 0.0) -> Path:
    """A minimal D4RL maze-layout file (no next_observations): episode rows 0-2 end by timeout, 3-5 by terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["observations"] = np.arange(n * 2, dtype=np.float32).reshape(n, 2) + offset
        f["actions"] = np.zeros((n, 2), np.float32)
        f["rewards"] = np.arange(n, dtype=np.float32)
        f["terminals"] = np.arange(n) == n - 1
        f["timeouts"] = np.arange(n) == 2
    return path


@pytest.fixture(autouse=True)
def places(tmp_path, monkeypatch):
    """Fresh HOME, D4RL and rlkit folders; a registry that knows only FAKE_BUILDABLE and maze2d-umaze-v1."""
    home, d4rl_dir, cache = tmp_path / "home", tmp_path / "d4rl", tmp_path / "cache"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("D4RL_DATASET_DIR", str(d4rl_dir))
    monkeypatch.setenv("RLKIT_DATA_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    builders = {
        name: registry.DatasetBuilder(name, lambda steps, seed, progress=True: None, 1000, f"fake builder of {name}")
        for name in (FAKE_BUILDABLE, "maze2d-umaze-v1")
    }
    monkeypatch.setattr(registry, "get_builder", builders.get)
    monkeypatch.setattr(registry, "registered_names", lambda: sorted(builders))
    return {"home_d4rl": home / ".d4rl" / "datasets", "d4rl": d4rl_dir, "cache": cache}


def test_an_existing_file_is_used_as_is(tmp_path):
    path = write_maze_file(tmp_path / "anywhere" / "my data.hdf5")
    assert resolve_dataset(path) == path
    assert resolve_dataset(str(path)) == path


def test_search_order_d4rl_dir_then_home_then_rlkit_cache(places):
    name = "hopper-medium-v2"
    in_env_dir = write_maze_file(places["d4rl"] / "hopper_medium-v2.hdf5")
    in_home = write_maze_file(places["home_d4rl"] / "hopper_medium-v2.hdf5")
    in_cache = write_maze_file(places["cache"] / "hopper-medium-v2.hdf5")
    assert candidate_paths(name) == [
        in_env_dir,
        places["d4rl"] / "hopper-medium-v2.hdf5",
        in_home,
        places["home_d4rl"] / "hopper-medium-v2.hdf5",
        in_cache,
    ]
    assert resolve_dataset(name) == in_env_dir
    in_env_dir.unlink()
    assert resolve_dataset(name) == in_home
    in_home.unlink()
    assert resolve_dataset(name) == in_cache


def test_d4rl_dirs_accept_the_name_as_file_name_after_d4rls_own(places):
    own = places["home_d4rl"] / "Ant_maze_u-maze_noisy_multistart_False_multigoal_False_sparse_fixed.hdf5"
    by_name = write_maze_file(places["home_d4rl"] / "antmaze-umaze-v2.hdf5")
    assert resolve_dataset("antmaze-umaze-v2") == by_name
    write_maze_file(own)
    assert resolve_dataset("antmaze-umaze-v2") == own


def test_without_d4rl_dataset_dir_home_is_searched(places, monkeypatch):
    monkeypatch.delenv("D4RL_DATASET_DIR")
    path = write_maze_file(places["home_d4rl"] / "kitchen_microwave_kettle_bottomburner_light-v0.hdf5")
    assert resolve_dataset("kitchen-mixed-v0") == path
    assert all(places["d4rl"] not in p.parents for p in candidate_paths("kitchen-mixed-v0"))


def test_non_d4rl_names_are_looked_up_only_in_rlkits_cache(places):
    write_maze_file(places["d4rl"] / f"{FAKE_BUILDABLE}.hdf5")
    assert candidate_paths(FAKE_BUILDABLE) == [places["cache"] / f"{FAKE_BUILDABLE}.hdf5"]
    with pytest.raises(DatasetNotFoundError):
        resolve_dataset(FAKE_BUILDABLE)
    built = write_maze_file(places["cache"] / f"{FAKE_BUILDABLE}.hdf5")
    assert resolve_dataset(FAKE_BUILDABLE) == built


def test_buildable_d4rl_name_says_build_it_or_place_the_file(places):
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_dataset("maze2d-umaze-v1")
    message = str(info.value)
    for path in candidate_paths("maze2d-umaze-v1"):
        assert str(path) in message
    assert "python -m rlkit.data build maze2d-umaze-v1" in message
    assert f"written to {places['cache'] / 'maze2d-umaze-v1.hdf5'}" in message
    assert "place D4RL's file maze2d-umaze-sparse-v1.hdf5" in message
    assert str(places["d4rl"] / "maze2d-umaze-sparse-v1.hdf5") in message
    assert isinstance(info.value, FileNotFoundError)


def test_buildable_rlkit_name_says_build_it(places):
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_dataset(FAKE_BUILDABLE)
    message = str(info.value)
    assert f"python -m rlkit.data build {FAKE_BUILDABLE}" in message
    assert f"fake builder of {FAKE_BUILDABLE}" in message
    assert str(places["cache"] / f"{FAKE_BUILDABLE}.hdf5") in message
    assert "D4RL's file" not in message


def test_d4rl_name_without_builder_says_where_to_put_the_file(places):
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_dataset("pen-human-v0")
    message = str(info.value)
    assert "rlkit has no builder" in message
    assert "build it with" not in message.lower()
    assert str(places["d4rl"] / "pen-v0_demos_clipped.hdf5") in message
    assert str(places["home_d4rl"] / "pen-human-v0.hdf5") in message
    assert str(places["cache"] / "pen-human-v0.hdf5") in message
    assert "$D4RL_DATASET_DIR" in message


def test_unknown_name_suggests_close_matches(places):
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_dataset("hoper-medium-v2")
    message = str(info.value)
    assert "unknown dataset 'hoper-medium-v2'" in message
    assert "Did you mean: hopper-medium-v2" in message
    assert str(places["cache"] / "hoper-medium-v2.hdf5") in message
    with pytest.raises(DatasetNotFoundError, match="Did you mean: " + FAKE_BUILDABLE):
        resolve_dataset(FAKE_BUILDABLE.replace("builder", "bilder"))


def test_missing_paths_and_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no dataset file at .*missing.hdf5"):
        resolve_dataset(tmp_path / "missing.hdf5")
    with pytest.raises(DatasetNotFoundError, match="no dataset file at .*missing.hdf5"):
        resolve_dataset("missing.hdf5")
    with pytest.raises(DatasetNotFoundError, match="use 'minari:D4RL/door/human-v2'"):
        resolve_dataset("D4RL/door/human-v2")
    with pytest.raises(DatasetError, match="is a folder"):
        resolve_dataset(tmp_path)


def test_minari_prefix_resolves_to_the_local_dataset_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    data = tmp_path / "minari" / "D4RL" / "door" / "human-v2" / "data"
    data.mkdir(parents=True)
    (data / "metadata.json").write_text("{}")
    assert resolve_dataset("minari:D4RL/door/human-v2") == data
    with pytest.raises(DatasetNotFoundError, match="minari download D4RL/door/expert-v2"):
        resolve_dataset("minari:D4RL/door/expert-v2")
    with pytest.raises(ValueError, match="names no dataset"):
        resolve_dataset("minari:")


def test_load_dataset_reads_the_resolved_d4rl_file(places):
    write_maze_file(places["home_d4rl"] / "maze2d-umaze-sparse-v1.hdf5", offset=100.0)
    write_maze_file(places["cache"] / "maze2d-umaze-v1.hdf5")  # later in the search order: not read
    td = load_dataset("maze2d-umaze-v1")
    assert td.batch_size == (6,)
    assert td[K.OBS][0].tolist() == [100.0, 101.0]
    assert td[K.EPISODE].tolist() == [0, 0, 0, 1, 1, 1]
    assert td[K.HAS_NEXT].tolist() == [True, True, False, True, True, True]


def test_load_dataset_dispatches_minari_ids(monkeypatch):
    calls = []
    monkeypatch.setattr("rlkit.data.minari_io.load_minari", lambda dataset_id: calls.append(dataset_id) or "td")
    assert load_dataset("minari:D4RL/pointmaze/umaze-v2") == "td"
    assert calls == ["D4RL/pointmaze/umaze-v2"]

