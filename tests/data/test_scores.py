"""rlkit.data.scores and the D4RL tables: normalised scores with D4RL's published constants, for every name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlkit.data.d4rl_names import D4RL_FILE_BASENAMES, d4rl_file_basename, is_d4rl_name
from rlkit.data.d4rl_reference_scores import D4RL_REFERENCE_SCORES, ReferenceScores
from rlkit.data.scores import UnknownReferenceScoresError, normalized_score, reference_scores


@pytest.mark.parametrize(
    ("name", "ret", "expected"),
    [
        ("hopper-medium-v2", 3234.3, 100.0),  # ref_max
        ("hopper-medium-v2", -20.272305, 0.0),  # ref_min
        ("hopper-random-v0", 1607.0138475, 50.0),  # (3234.3 - 20.272305) / 2
        ("halfcheetah-medium-v2", 5927.4105235, 50.0),  # (12135.0 - 280.178953) / 2
        ("walker2d-medium-replay-v2", 4592.3, 100.0),
        ("antmaze-umaze-v2", 0.75, 75.0),
        ("kitchen-mixed-v0", 2.0, 50.0),
        ("maze2d-umaze-v1", 23.85 + 0.25 * (161.86 - 23.85), 25.0),
        ("pen-human-v1", 96.262799, 0.0),
        ("maze2d-eval-umaze-v1", 141.4, 100.0),  # only in d4rl's register calls, not in infos.py
    ],
)
def test_hand_computed_values(name, ret, expected):
    assert normalized_score(name, ret) == pytest.approx(expected, abs=1e-9)


def test_returns_come_back_as_the_kind_given():
    name = "hopper-medium-v2"
    as_float = normalized_score(name, 3234.3)
    assert type(as_float) is float and as_float == 100.0
    assert type(normalized_score(name, 3000)) is float
    assert normalized_score(name, [3234.3, -20.272305]) == pytest.approx([100.0, 0.0])
    assert isinstance(normalized_score(name, (3234.3,)), list)
    assert normalized_score(name, []) == []

    array = normalized_score(name, np.array([[3234.3], [-20.272305]], np.float32))
    assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.shape == (2, 1)
    np.testing.assert_allclose(array[:, 0], [100.0, 0.0], atol=1e-4)
    assert normalized_score(name, np.arange(3)).dtype == np.float64

    tensor = normalized_score(name, torch.tensor([3234.3, 1607.0138475], dtype=torch.float64))
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64
    torch.testing.assert_close(tensor, torch.tensor([100.0, 50.0], dtype=torch.float64))
    assert normalized_score(name, torch.tensor([0, 1])).is_floating_point()


def test_array_input_is_elementwise_affine():
    returns = np.linspace(-100.0, 4000.0, 7)
    ref_min, ref_max = -20.272305, 3234.3
    np.testing.assert_allclose(
        normalized_score("hopper-expert-v2", returns), 100.0 * (returns - ref_min) / (ref_max - ref_min)
    )


def test_unknown_name_lists_close_matches():
    with pytest.raises(KeyError) as info:
        normalized_score("hoper-medium-v2", 1.0)
    assert isinstance(info.value, UnknownReferenceScoresError)
    assert "'hopper-medium-v2'" in str(info.value)
    assert not str(info.value).startswith('"')  # the plain message, not a KeyError repr
    with pytest.raises(UnknownReferenceScoresError, match="publishes no reference scores for 'carla-town-render-v0'"):
        reference_scores("carla-town-render-v0")


def test_bad_returns_are_type_errors():
    with pytest.raises(TypeError, match="boolean"):
        normalized_score("hopper-medium-v2", True)
    with pytest.raises(TypeError, match="numbers"):
        normalized_score("hopper-medium-v2", ["a"])
    with pytest.raises(TypeError, match="dict"):
        normalized_score("hopper-medium-v2", {"return": 1.0})


def test_every_d4rl_name_has_reference_scores_where_d4rl_defines_them():
    assert set(D4RL_REFERENCE_SCORES) <= set(D4RL_FILE_BASENAMES)
    assert set(D4RL_FILE_BASENAMES) - set(D4RL_REFERENCE_SCORES) == {"carla-town-render-v0"}
    for name, scores in D4RL_REFERENCE_SCORES.items():
        assert isinstance(scores, ReferenceScores)
        assert isinstance(scores.ref_min, float) and isinstance(scores.ref_max, float)
        assert scores.ref_max > scores.ref_min, name


def test_families_cover_every_dataset_level_and_share_constants():
    levels = ["random", "medium", "expert", "medium-replay", "medium-expert", "full-replay"]
    for env, constants in {
        "hopper": (-20.272305, 3234.3),
        "halfcheetah": (-280.178953, 12135.0),
        "walker2d": (1.629008, 4592.3),
        "ant": (-325.6, 3879.7),
    }.items():
        for version in ("v1", "v2"):
            for level in levels:
                assert reference_scores(f"{env}-{level}-{version}") == constants
    for env, constants in {
        "pen": (96.262799, 3076.8331017826877),
        "hammer": (-274.856578, 12794.134825156867),
        "door": (-56.512833, 2880.5693087298737),
        "relocate": (-6.425911, 4233.877797728884),
    }.items():
        for level in ("human", "cloned", "expert", "human-longhorizon"):
            for version in ("v0", "v1"):
                assert reference_scores(f"{env}-{level}-{version}") == constants
    for maze in ("umaze", "umaze-diverse", "medium-play", "medium-diverse", "large-play", "large-diverse"):
        for version in ("v0", "v1", "v2"):
            assert reference_scores(f"antmaze-{maze}-{version}") == (0.0, 1.0)
    assert reference_scores("maze2d-umaze-v0") == (0.94, 62.6)  # differs from v1
    assert reference_scores("maze2d-large-dense-v1") == (30.569041, 303.4857382709002)
    assert reference_scores("bullet-hopper-medium-v0") == (20.058972, 1441.8059623430963)
    assert reference_scores("flow-merge-random-v0") == (118.67993, 330.03179)
    assert reference_scores("minigrid-fourrooms-v0") == (0.01442, 2.89685)


def test_d4rl_file_basenames():
    assert d4rl_file_basename("hopper-medium-v2") == "hopper_medium-v2.hdf5"
    assert d4rl_file_basename("walker2d-medium-replay-v0") == "walker_mixed.hdf5"
    assert d4rl_file_basename("maze2d-umaze-v1") == "maze2d-umaze-sparse-v1.hdf5"
    assert d4rl_file_basename("antmaze-medium-diverse-v2") == (
        "Ant_maze_big-maze_noisy_multistart_True_multigoal_True_sparse_fixed.hdf5"
    )
    assert d4rl_file_basename("kitchen-mixed-v0") == "kitchen_microwave_kettle_bottomburner_light-v0.hdf5"
    assert d4rl_file_basename("pen-human-v0") == "pen-v0_demos_clipped.hdf5"
    assert d4rl_file_basename("pen-human-longhorizon-v1") == "pen-human-v1.hdf5"  # shares the -human file
    assert d4rl_file_basename("hopper-medium-v3") is None
    assert is_d4rl_name("halfcheetah-random-v2") and not is_d4rl_name("halfcheetah-v2")
    assert all(basename.endswith(".hdf5") and "/" not in basename for basename in D4RL_FILE_BASENAMES.values())
    assert len(D4RL_FILE_BASENAMES) == 183
