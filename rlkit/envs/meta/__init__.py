"""rlkit.envs.meta: BOReL's meta-RL task families, their envs, and the BAMDP wrapper.

A ``TaskFamily`` draws tasks and gives the true reward of any task on any transition (numpy or torch), which is what
reward relabelling needs; its ``make_env`` plays one task; ``BAMDPWrapper`` strings several episodes of one task into
a meta-episode; ``make_meta_env("point_robot_sparse")`` builds all of it by the original scripts' env-type names.
Names are imported lazily (the MuJoCo families load MuJoCo). ``registry.task_family(env_type)`` is not re-exported
here: the submodule ``rlkit.envs.meta.task_family`` owns that attribute name of the package.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    "TaskFamily": "rlkit.envs.meta.task_family",
    "TaskEnv": "rlkit.envs.meta.task_env",
    "BAMDPWrapper": "rlkit.envs.meta.bamdp",
    "GridNaviFamily": "rlkit.envs.meta.grid_navi",
    "GridNaviEnv": "rlkit.envs.meta.grid_navi",
    "PointRobotSparseFamily": "rlkit.envs.meta.point_robot",
    "PointRobotSparseEnv": "rlkit.envs.meta.point_robot",
    "WindFamily": "rlkit.envs.meta.wind",
    "WindEnv": "rlkit.envs.meta.wind",
    "EscapeRoomFamily": "rlkit.envs.meta.escape_room",
    "EscapeRoomEnv": "rlkit.envs.meta.escape_room",
    "CheetahVelFamily": "rlkit.envs.meta.cheetah_vel",
    "HalfCheetahVelEnv": "rlkit.envs.meta.cheetah_vel",
    "AntSemiCircleFamily": "rlkit.envs.meta.ant_semicircle",
    "AntSemiCircleEnv": "rlkit.envs.meta.ant_semicircle",
    "MetaEnvSpec": "rlkit.envs.meta.registry",
    "META_ENV_TYPES": "rlkit.envs.meta.registry",
    "meta_env_spec": "rlkit.envs.meta.registry",
    "make_meta_env": "rlkit.envs.meta.registry",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
