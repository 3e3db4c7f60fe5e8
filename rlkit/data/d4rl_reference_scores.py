"""D4RL's published reference returns, per dataset name, as data.

D4RL normalises a return ``R`` as ``100 * (R - ref_min) / (ref_max - ref_min)``: ``ref_min`` is the mean return of a
random policy and ``ref_max`` that of an expert (for AntMaze and Kitchen: 0 and the most reward an episode can give).
The constants below are the ones d4rl publishes, in ``infos.py`` (``REF_MIN_SCORE`` / ``REF_MAX_SCORE``) and in the
``ref_min_score`` / ``ref_max_score`` arguments of its ``register`` calls, which also cover the ids ``infos.py`` leaves
out (Maze2D v0 and -eval, AntMaze v1 and -eval, the Adroit ``-longhorizon`` ids). The names are those of
``rlkit.data.d4rl_names.D4RL_FILE_BASENAMES``; the one name for which D4RL publishes no reference scores is
``carla-town-render-v0``. Note that ids of one environment share constants across dataset levels but not always across
versions (``maze2d-umaze-v0`` and ``maze2d-umaze-v1`` differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple


class ReferenceScores(NamedTuple):
    """The returns that normalise to 0 (``ref_min``) and to 100 (``ref_max``)."""

    ref_min: float
    ref_max: float


D4RL_REFERENCE_SCORES: Final[Mapping[str, ReferenceScores]] = MappingProxyType(
    {
        # Gym-MuJoCo v0 (deprecated by D4RL)
        "ant-expert-v0": ReferenceScores(-325.6, 3879.7),
        "ant-medium-expert-v0": ReferenceScores(-325.6, 3879.7),
        "ant-medium-replay-v0": ReferenceScores(-325.6, 3879.7),
        "ant-medium-v0": ReferenceScores(-325.6, 3879.7),
        "ant-random-expert-v0": ReferenceScores(-325.6, 3879.7),
        "ant-random-v0": ReferenceScores(-325.6, 3879.7),
        "halfcheetah-expert-v0": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-expert-v0": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-replay-v0": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-v0": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-random-v0": ReferenceScores(-280.178953, 12135.0),
        "hopper-expert-v0": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-expert-v0": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-replay-v0": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-v0": ReferenceScores(-20.272305, 3234.3),
        "hopper-random-v0": ReferenceScores(-20.272305, 3234.3),
        "walker2d-expert-v0": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-expert-v0": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-replay-v0": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-v0": ReferenceScores(1.629008, 4592.3),
        "walker2d-random-v0": ReferenceScores(1.629008, 4592.3),
        # Gym-MuJoCo v1 (deprecated by D4RL)
        "ant-expert-v1": ReferenceScores(-325.6, 3879.7),
        "ant-full-replay-v1": ReferenceScores(-325.6, 3879.7),
        "ant-medium-expert-v1": ReferenceScores(-325.6, 3879.7),
        "ant-medium-replay-v1": ReferenceScores(-325.6, 3879.7),
        "ant-medium-v1": ReferenceScores(-325.6, 3879.7),
        "ant-random-v1": ReferenceScores(-325.6, 3879.7),
        "halfcheetah-expert-v1": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-full-replay-v1": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-expert-v1": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-replay-v1": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-v1": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-random-v1": ReferenceScores(-280.178953, 12135.0),
        "hopper-expert-v1": ReferenceScores(-20.272305, 3234.3),
        "hopper-full-replay-v1": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-expert-v1": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-replay-v1": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-v1": ReferenceScores(-20.272305, 3234.3),
        "hopper-random-v1": ReferenceScores(-20.272305, 3234.3),
        "walker2d-expert-v1": ReferenceScores(1.629008, 4592.3),
        "walker2d-full-replay-v1": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-expert-v1": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-replay-v1": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-v1": ReferenceScores(1.629008, 4592.3),
        "walker2d-random-v1": ReferenceScores(1.629008, 4592.3),
        # Gym-MuJoCo v2
        "ant-expert-v2": ReferenceScores(-325.6, 3879.7),
        "ant-full-replay-v2": ReferenceScores(-325.6, 3879.7),
        "ant-medium-expert-v2": ReferenceScores(-325.6, 3879.7),
        "ant-medium-replay-v2": ReferenceScores(-325.6, 3879.7),
        "ant-medium-v2": ReferenceScores(-325.6, 3879.7),
        "ant-random-v2": ReferenceScores(-325.6, 3879.7),
        "halfcheetah-expert-v2": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-full-replay-v2": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-expert-v2": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-replay-v2": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-medium-v2": ReferenceScores(-280.178953, 12135.0),
        "halfcheetah-random-v2": ReferenceScores(-280.178953, 12135.0),
        "hopper-expert-v2": ReferenceScores(-20.272305, 3234.3),
        "hopper-full-replay-v2": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-expert-v2": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-replay-v2": ReferenceScores(-20.272305, 3234.3),
        "hopper-medium-v2": ReferenceScores(-20.272305, 3234.3),
        "hopper-random-v2": ReferenceScores(-20.272305, 3234.3),
        "walker2d-expert-v2": ReferenceScores(1.629008, 4592.3),
        "walker2d-full-replay-v2": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-expert-v2": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-replay-v2": ReferenceScores(1.629008, 4592.3),
        "walker2d-medium-v2": ReferenceScores(1.629008, 4592.3),
        "walker2d-random-v2": ReferenceScores(1.629008, 4592.3),
        # Maze2D (v0 deprecated; -dense and -eval variants)
        "maze2d-eval-large-dense-v1": ReferenceScores(56.95455, 326.09647655082637),
        "maze2d-eval-large-v1": ReferenceScores(16.4, 302.22),
        "maze2d-eval-medium-dense-v1": ReferenceScores(42.28578, 235.5658957482388),
        "maze2d-eval-medium-v1": ReferenceScores(13.07, 204.93),
        "maze2d-eval-umaze-dense-v1": ReferenceScores(56.95455, 178.21373133248397),
        "maze2d-eval-umaze-v1": ReferenceScores(36.63, 141.4),
        "maze2d-large-dense-v0": ReferenceScores(27.38831, 215.09965671563742),
        "maze2d-large-dense-v1": ReferenceScores(30.569041, 303.4857382709002),
        "maze2d-large-v0": ReferenceScores(4.83, 191.99),
        "maze2d-large-v1": ReferenceScores(6.7, 273.99),
        "maze2d-medium-dense-v0": ReferenceScores(19.47762, 96.03474232952358),
        "maze2d-medium-dense-v1": ReferenceScores(44.264742, 297.4552547777125),
        "maze2d-medium-v0": ReferenceScores(5.77, 85.14),
        "maze2d-medium-v1": ReferenceScores(13.13, 277.39),
        "maze2d-open-dense-v0": ReferenceScores(11.17817, 27.166538620695782),
        "maze2d-open-v0": ReferenceScores(0.01, 20.66),
        "maze2d-umaze-dense-v0": ReferenceScores(23.249793, 81.78995240126592),
        "maze2d-umaze-dense-v1": ReferenceScores(68.537689, 193.66285642381482),
        "maze2d-umaze-v0": ReferenceScores(0.94, 62.6),
        "maze2d-umaze-v1": ReferenceScores(23.85, 161.86),
        # AntMaze v0 (deprecated by D4RL; -eval variants)
        "antmaze-eval-large-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-eval-large-play-v0": ReferenceScores(0.0, 1.0),
        "antmaze-eval-medium-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-eval-medium-play-v0": ReferenceScores(0.0, 1.0),
        "antmaze-eval-umaze-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-eval-umaze-v0": ReferenceScores(0.0, 1.0),
        "antmaze-large-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-large-play-v0": ReferenceScores(0.0, 1.0),
        "antmaze-medium-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-medium-play-v0": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-diverse-v0": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-v0": ReferenceScores(0.0, 1.0),
        # AntMaze v1 (deprecated by D4RL)
        "antmaze-large-diverse-v1": ReferenceScores(0.0, 1.0),
        "antmaze-large-play-v1": ReferenceScores(0.0, 1.0),
        "antmaze-medium-diverse-v1": ReferenceScores(0.0, 1.0),
        "antmaze-medium-play-v1": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-diverse-v1": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-v1": ReferenceScores(0.0, 1.0),
        # AntMaze v2
        "antmaze-large-diverse-v2": ReferenceScores(0.0, 1.0),
        "antmaze-large-play-v2": ReferenceScores(0.0, 1.0),
        "antmaze-medium-diverse-v2": ReferenceScores(0.0, 1.0),
        "antmaze-medium-play-v2": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-diverse-v2": ReferenceScores(0.0, 1.0),
        "antmaze-umaze-v2": ReferenceScores(0.0, 1.0),
        # Franka Kitchen
        "kitchen-complete-v0": ReferenceScores(0.0, 4.0),
        "kitchen-mixed-v0": ReferenceScores(0.0, 4.0),
        "kitchen-partial-v0": ReferenceScores(0.0, 4.0),
        # Adroit v0 (deprecated by D4RL)
        "door-cloned-v0": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-expert-v0": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-human-longhorizon-v0": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-human-v0": ReferenceScores(-56.512833, 2880.5693087298737),
        "hammer-cloned-v0": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-expert-v0": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-human-longhorizon-v0": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-human-v0": ReferenceScores(-274.856578, 12794.134825156867),
        "pen-cloned-v0": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-expert-v0": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-human-longhorizon-v0": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-human-v0": ReferenceScores(96.262799, 3076.8331017826877),
        "relocate-cloned-v0": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-expert-v0": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-human-longhorizon-v0": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-human-v0": ReferenceScores(-6.425911, 4233.877797728884),
        # Adroit v1
        "door-cloned-v1": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-expert-v1": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-human-longhorizon-v1": ReferenceScores(-56.512833, 2880.5693087298737),
        "door-human-v1": ReferenceScores(-56.512833, 2880.5693087298737),
        "hammer-cloned-v1": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-expert-v1": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-human-longhorizon-v1": ReferenceScores(-274.856578, 12794.134825156867),
        "hammer-human-v1": ReferenceScores(-274.856578, 12794.134825156867),
        "pen-cloned-v1": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-expert-v1": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-human-longhorizon-v1": ReferenceScores(96.262799, 3076.8331017826877),
        "pen-human-v1": ReferenceScores(96.262799, 3076.8331017826877),
        "relocate-cloned-v1": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-expert-v1": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-human-longhorizon-v1": ReferenceScores(-6.425911, 4233.877797728884),
        "relocate-human-v1": ReferenceScores(-6.425911, 4233.877797728884),
        # Flow
        "flow-merge-controller-v0": ReferenceScores(118.67993, 330.03179),
        "flow-merge-random-v0": ReferenceScores(118.67993, 330.03179),
        "flow-ring-controller-v0": ReferenceScores(-165.22, 24.42),
        "flow-ring-random-v0": ReferenceScores(-165.22, 24.42),
        # CARLA
        "carla-lane-render-v0": ReferenceScores(-0.8503839912088142, 1023.5784385429523),
        "carla-lane-v0": ReferenceScores(-0.8503839912088142, 1023.5784385429523),
        "carla-town-full-v0": ReferenceScores(-114.81579500772153, 2440.1772022247314),
        # carla-town-render-v0: D4RL publishes no reference scores
        "carla-town-v0": ReferenceScores(-114.81579500772153, 2440.1772022247314),
        # MiniGrid
        "minigrid-fourrooms-random-v0": ReferenceScores(0.01442, 2.89685),
        "minigrid-fourrooms-v0": ReferenceScores(0.01442, 2.89685),
        # PyBullet
        "bullet-ant-expert-v0": ReferenceScores(373.705955, 2650.495),
        "bullet-ant-medium-expert-v0": ReferenceScores(373.705955, 2650.495),
        "bullet-ant-medium-replay-v0": ReferenceScores(373.705955, 2650.495),
        "bullet-ant-medium-v0": ReferenceScores(373.705955, 2650.495),
        "bullet-ant-random-v0": ReferenceScores(373.705955, 2650.495),
        "bullet-halfcheetah-expert-v0": ReferenceScores(-1275.766996, 2381.6725),
        "bullet-halfcheetah-medium-expert-v0": ReferenceScores(-1275.766996, 2381.6725),
        "bullet-halfcheetah-medium-replay-v0": ReferenceScores(-1275.766996, 2381.6725),
        "bullet-halfcheetah-medium-v0": ReferenceScores(-1275.766996, 2381.6725),
        "bullet-halfcheetah-random-v0": ReferenceScores(-1275.766996, 2381.6725),
        "bullet-hopper-expert-v0": ReferenceScores(20.058972, 1441.8059623430963),
        "bullet-hopper-medium-expert-v0": ReferenceScores(20.058972, 1441.8059623430963),
        "bullet-hopper-medium-replay-v0": ReferenceScores(20.058972, 1441.8059623430963),
        "bullet-hopper-medium-v0": ReferenceScores(20.058972, 1441.8059623430963),
        "bullet-hopper-random-v0": ReferenceScores(20.058972, 1441.8059623430963),
        "bullet-maze2d-large-v0": ReferenceScores(1.82, 285.92),
        "bullet-maze2d-medium-v0": ReferenceScores(14.87, 238.05),
        "bullet-maze2d-open-v0": ReferenceScores(8.75, 64.15),
        "bullet-maze2d-umaze-v0": ReferenceScores(32.46, 153.99),
        "bullet-walker2d-expert-v0": ReferenceScores(16.523877, 1623.6476303317536),
        "bullet-walker2d-medium-expert-v0": ReferenceScores(16.523877, 1623.6476303317536),
        "bullet-walker2d-medium-replay-v0": ReferenceScores(16.523877, 1623.6476303317536),
        "bullet-walker2d-medium-v0": ReferenceScores(16.523877, 1623.6476303317536),
        "bullet-walker2d-random-v0": ReferenceScores(16.523877, 1623.6476303317536),
    }
)
"""D4RL dataset name -> its published (ref_min, ref_max) returns."""
