"""A trotting gait for gymnasium's MuJoCo ant that walks in any commanded direction without turning its body.

Why a gait and not a learned walker: learning a reliable ant on a CPU takes hours; a periodic trot with seven tuned
numbers walks at ~1-2 m/s in every direction and almost never falls, which is what dataset collection needs.

How it works (one oscillator, phase ``phi``, advanced by ``2 pi f dt`` each step):

- Trot: legs 1 and 3 move together, legs 2 and 4 half a period later.
- Hips swing ``push_i * hip_amplitude * sin(phi_i)``; ankles bend ``s_i * (ankle_mid + ankle_amplitude *
  cos(phi_i + phase_offset))`` (``s_i`` the sign of each ankle's range), so a leg lifts during one half of its
  swing and pushes during the other.
- Steering: hip ``i`` sits at angle ``theta_i`` (45, 135, 225, 315 degrees) and moves its foot along
  ``t_i = (-sin theta_i, cos theta_i)``; for a desired direction ``v`` in the body frame, ``push_i = -(v . t_i)``
  (normalised so the largest is +-1) makes every leg's stance push the body along ``v``.
- Torques: a PD law ``clip(kp (target - q) - kd qdot, -1, 1)`` per joint, reordered into the actuator order.

Subclasses may override ``joint_targets`` (the pattern) or ``torques`` (the low-level law).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from rlkit.envs.ant_state import JOINTS_QPOS, JOINTS_QVEL, QUAT, yaw

HIP_ANGLES = np.deg2rad([45.0, 135.0, 225.0, 315.0])  # legs 1-4 around the torso, counter-clockwise from +x
ANKLE_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # ankles 1, 4 bend in [30, 70] deg; ankles 2, 3 in [-70, -30] deg
LEG_PHASES = np.array([0.0, np.pi, 0.0, np.pi])  # trot: diagonal pairs (1, 3) and (2, 4) in antiphase
HIP_TANGENTS = np.stack([-np.sin(HIP_ANGLES), np.cos(HIP_ANGLES)], axis=-1)  # (4, 2)
# gymnasium's ant.xml drives hip_4, ankle_4, hip_1, ankle_1, hip_2, ankle_2, hip_3, ankle_3 (joint order 1..4).
GYMNASIUM_ACTUATOR_JOINTS = np.array([6, 7, 0, 1, 2, 3, 4, 5])
ANT_DT = 0.05  # gymnasium's ant: timestep 0.01 x frame_skip 5


@dataclass(frozen=True)
class GaitParams:
    """The seven numbers of the trot (angles in radians, gains per radian of error on a [-1, 1] torque action)."""

    frequency: float  # Hz
    hip_amplitude: float
    ankle_mid: float
    ankle_amplitude: float
    kp: float
    kd: float
    phase_offset: float  # ankle lift relative to hip swing

    def to_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> GaitParams:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape[0] != len(fields(cls)):
            raise ValueError(f"{values.shape[0]} gait values; expected {len(fields(cls))}: {cls.names()}")
        return cls(*(float(v) for v in values))

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def randomized(self, rng: np.random.Generator, scale: float = 0.05) -> GaitParams:
        """A copy with each value multiplied by ``1 + U(-scale, scale)`` (the phase offset shifted by U(-scale, scale)),
        for per-episode variety in collected data."""
        values = self.to_array()
        jitter = rng.uniform(-scale, scale, size=values.shape)
        out = values * (1.0 + jitter)
        out[-1] = values[-1] + jitter[-1]
        return GaitParams.from_array(out)


# Lower/upper bounds of the search space (and of sane values), in GaitParams order.
PARAM_BOUNDS = np.array(
    [
        [1.0, 3.5],  # frequency
        [0.1, 0.52],  # hip_amplitude (hip range is +-30 deg)
        [0.3, 1.0],  # ankle_mid
        [0.0, 0.5],  # ankle_amplitude
        [1.0, 10.0],  # kp
        [0.0, 1.0],  # kd
        [-np.pi, np.pi],  # phase_offset
    ]
)


class TrotGait:
    """``act(qpos, qvel, direction) -> action (8,)``: torques that walk the ant along a world-frame direction.

    Args:
        params: the gait's numbers (``rlkit.data.generators.gait_search.TUNED_GAIT`` is a tuned set).
        dt: seconds per env step (gymnasium's ant: 0.05).
        actuator_joints: for each actuator, the index (0-7, joint order hip_1, ankle_1, ..., ankle_4) of the joint it
            drives; read it from a model with ``rlkit.envs.ant_state.actuator_joint_indices`` (qpos index - 7).
        phase: the oscillator's phase at the start (radians).
    """

    def __init__(
        self,
        params: GaitParams,
        *,
        dt: float = ANT_DT,
        actuator_joints: np.ndarray = GYMNASIUM_ACTUATOR_JOINTS,
        phase: float = 0.0,
    ) -> None:
        if dt <= 0:
            raise ValueError(f"dt must be positive seconds per step; got {dt}")
        order = np.asarray(actuator_joints, dtype=np.int64)
        if sorted(order.tolist()) != list(range(8)):
            raise ValueError(f"actuator_joints {order.tolist()} must be a permutation of 0..7 (one per leg joint)")
        self.params = params
        self.dt = float(dt)
        self.actuator_joints = order
        self.phase = float(phase)

    def reset(self, phase: float = 0.0, params: GaitParams | None = None) -> None:
        """Restart the oscillator (and optionally change the numbers), e.g. at the start of an episode."""
        self.phase = float(phase)
        if params is not None:
            self.params = params

    @staticmethod
    def leg_push(direction_body: np.ndarray) -> np.ndarray:
        """Signed swing factor (4,) of each hip for a body-frame direction (2,); all zero for a zero direction."""
        push = -(HIP_TANGENTS @ np.asarray(direction_body, dtype=np.float64))
        peak = np.abs(push).max()
        return push / peak if peak > 1e-9 else np.zeros(4)

    def joint_targets(self, phase: float, push: np.ndarray) -> np.ndarray:
        """Target angles (8,) in joint order (hip_1, ankle_1, ..., hip_4, ankle_4) at oscillator ``phase``."""
        p = self.params
        leg_phase = phase + LEG_PHASES
        targets = np.empty(8)
        targets[0::2] = push * p.hip_amplitude * np.sin(leg_phase)
        targets[1::2] = ANKLE_SIGNS * (p.ankle_mid + p.ankle_amplitude * np.cos(leg_phase + p.phase_offset))
        return targets

    def torques(self, targets: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """PD torques (8,) in joint order, clipped to the action range [-1, 1]."""
        u = self.params.kp * (targets - q) - self.params.kd * qd
        return np.minimum(np.maximum(u, -1.0), 1.0)

    def act(self, qpos: np.ndarray, qvel: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Action (8,) in actuator order for the ant state (qpos (15,), qvel (14,)) and a world-frame direction (2,).

        Advances the oscillator by one step. ``direction`` need not be normalised; zero means trot in place.
        """
        heading = float(yaw(qpos[QUAT]))
        c, s = np.cos(heading), np.sin(heading)
        dx, dy = float(direction[0]), float(direction[1])
        body = np.array([c * dx + s * dy, -s * dx + c * dy])  # world -> body: rotate by -yaw
        targets = self.joint_targets(self.phase, self.leg_push(body))
        u = self.torques(targets, qpos[JOINTS_QPOS], qvel[JOINTS_QVEL])
        self.phase = (self.phase + 2.0 * np.pi * self.params.frequency * self.dt) % (2.0 * np.pi)
        return u[self.actuator_joints]
