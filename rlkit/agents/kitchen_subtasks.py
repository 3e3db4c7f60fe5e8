"""Phase machines for the four FrankaKitchen-v1 subtasks D4RL's kitchen-mixed-v0 targets.

Each subtask reads the simulator (site and body poses, object joint angles) and, step by step, returns a
``Command``: a Cartesian target for the ``end_effector`` site (orientation optional) and a finger command. Phases
advance on measured conditions (pose reached, door angle, ...) or after a step budget, so a perturbed start or
action noise only delays them. Targets are fixed when a phase starts and never defined relative to an object that
the hand is moving (that feeds back and drifts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np

from rlkit.agents.franka_ik import ARM_JOINTS, FrankaIK, frame_from_axes

OPEN, CLOSE = 1.0, -1.0
X, Y, Z = np.eye(3)


@dataclass
class Command:
    """What the hand should do this step: site target, orientation (None: free) and fingers (+1 open, -1 close)."""

    position: np.ndarray
    rotation: np.ndarray | None
    fingers: float


def _rot_about(axis: np.ndarray, angle: float) -> np.ndarray:
    quat = np.empty(4)
    mujoco.mju_axisAngle2Quat(quat, np.asarray(axis, dtype=float), float(angle))
    mat = np.empty(9)
    mujoco.mju_quat2Mat(mat, quat)
    return mat.reshape(3, 3)


class Subtask:
    """A sequence of phases; ``command`` returns the next Command, or None once the subtask is over.

    Subclasses implement ``_phase(name, data)`` returning ``(command, finished)`` for phase ``name`` and list
    their phases in ``PHASES``; ``success`` says whether the object reached its goal.
    """

    PHASES: tuple[str, ...] = ()
    PHASE_BUDGET = 40  # steps after which a stuck phase gives up and the next one starts

    def __init__(self, model: mujoco.MjModel, ik: FrankaIK, rng: np.random.Generator) -> None:
        self.model = model
        self.ik = ik
        self.rng = rng
        self.phase_index = 0
        self.phase_steps = 0
        self.memory: dict[str, np.ndarray] = {}

    @property
    def phase(self) -> str | None:
        return self.PHASES[self.phase_index] if self.phase_index < len(self.PHASES) else None

    def command(self, data: mujoco.MjData) -> Command | None:
        while self.phase is not None:
            cmd, finished = self._phase(self.phase, data)
            if finished or self.phase_steps >= self.PHASE_BUDGET:
                self.phase_index += 1
                self.phase_steps = 0
                continue
            self.phase_steps += 1
            return cmd
        return None

    def success(self, data: mujoco.MjData) -> bool:
        raise NotImplementedError

    def _phase(self, name: str, data: mujoco.MjData) -> tuple[Command, bool]:
        raise NotImplementedError

    def home(self, default: np.ndarray) -> np.ndarray:
        """The arm configuration (7,) to start this subtask from (the controller moves there in joint space)."""
        return default

    # helpers -----------------------------------------------------------------------------------------------
    def _grasp_frame(self, data: mujoco.MjData, position: np.ndarray, approach: np.ndarray, closing: np.ndarray,
                     twist: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
                     ) -> np.ndarray:
        """The grasp rotation, fingers closing along ``closing`` or ``-closing``, that leaves joint 7 more room.

        The two frames differ by pi about the hand's axis (joint 7's axis). Both are solved ahead on a kinematic
        copy of the arm (and, with ``twist(pos, rot) -> (pos, rot)``, the pose the subtask turns the hand to
        after grasping); the frame whose joint 7 stays farthest from its limits, reachable, wins.
        """
        low, high = self.ik.joint_limits[ARM_JOINTS - 1]
        best, best_score = None, -np.inf
        for sign in (1.0, -1.0):
            rot = frame_from_axes(approach, sign * np.asarray(closing, dtype=float))
            poses = [(position, rot)] + ([twist(position, rot)] if twist is not None else [])
            score, q = np.inf, None
            for pos, target_rot in poses:  # each pose solved from the previous one's joints, as the arm moves
                q, pos_err, rot_err = self.ik.solve_pose(data, pos, target_rot, q_start=q)
                room = min(q[ARM_JOINTS - 1] - low, high - q[ARM_JOINTS - 1])
                score = min(score, room - 10.0 * pos_err - rot_err)  # an unreachable pose costs more than room
            if score > best_score:
                best, best_score = rot, score
        return best

    def _site(self, data: mujoco.MjData, name: str) -> np.ndarray:
        return data.site_xpos[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, name)].copy()

    def _qpos(self, data: mujoco.MjData, joint: str) -> float:
        return float(data.qpos[self.model.jnt_qposadr[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, joint)]])

    def _remember(self, key: str, value: np.ndarray) -> np.ndarray:
        if key not in self.memory:
            self.memory[key] = np.array(value, dtype=float)
        return self.memory[key]

    def _reached(self, data: mujoco.MjData, pos: np.ndarray, rot: np.ndarray | None, tol: float = 0.012,
                 rot_tol: float = 0.08) -> bool:
        pos_err, rot_err = self.ik.pose_error(data, pos, rot)
        return pos_err < tol and rot_err < rot_tol

    def _hold(self, data: mujoco.MjData, key: str, fingers: float, steps: int) -> tuple[Command, bool]:
        pos, rot = self.ik.site_pose(data)
        pos = self._remember(key + "_pos", pos)
        rot = self._remember(key + "_rot", rot)
        return Command(pos, rot, fingers), self.phase_steps >= steps

    def _retreat(self, data: mujoco.MjData, offset: np.ndarray, fingers: float = OPEN) -> tuple[Command, bool]:
        pos, _ = self.ik.site_pose(data)
        target = self._remember("retreat", pos + offset)
        return Command(target, None, fingers), self._reached(data, target, None, tol=0.03)


class Microwave(Subtask):
    """Grasp the handle along the door's inward normal, then pull it around the hinge (position-only IK)."""

    PHASES = ("pre", "approach", "grasp", "pull", "release", "retreat")
    OPEN_ANGLE = -0.85  # the env counts -0.45 and below as done (goal -0.75, threshold 0.3)

    def success(self, data: mujoco.MjData) -> bool:
        return self._qpos(data, "microwave") < -0.45

    def _frame(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        door = data.xmat[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "microdoorroot")].reshape(3, 3)
        normal = self._remember("normal", door[:, 1])
        return normal, self._remember("rot", frame_from_axes(normal, door[:, 0]))

    def _phase(self, name: str, data: mujoco.MjData) -> tuple[Command, bool]:
        normal, rot = self._frame(data)
        handle = self._remember("handle", self._site(data, "microhandle_site"))
        if name == "pre":
            pos = handle - 0.12 * normal
            return Command(pos, rot, OPEN), self._reached(data, pos, rot, tol=0.03, rot_tol=0.15)
        if name == "approach":
            pos = handle - 0.015 * normal
            return Command(pos, rot, OPEN), self._reached(data, pos, rot, tol=0.01)
        if name == "grasp":
            return self._hold(data, "grasp", CLOSE, 5)
        if name == "pull":
            hinge = data.xanchor[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, "microwave")].copy()
            grip = self._remember("grip", self.ik.site_pose(data)[0])
            angle = self._qpos(data, "microwave")
            lead = angle - 0.3
            target = hinge + _rot_about(Z, lead) @ (grip - hinge)
            return Command(target, None, CLOSE), angle < self.OPEN_ANGLE
        if name == "release":
            return self._hold(data, "release", OPEN, 4)
        return self._retreat(data, np.array([0.0, -0.08, 0.04]))


class Kettle(Subtask):
    """Grasp the kettle handle from above (pitched towards +y to clear the hood), lift, carry, lower, release."""

    PHASES = ("pre", "approach", "grasp", "lift", "carry", "lower", "release", "retreat")
    GOAL = np.array([-0.23, 0.75, 1.62])  # kettle body position the env counts as done (threshold 0.3)
    PITCH = 0.8
    GRASP_DEPTH = 0.015  # hand site this far short of the handle axis (the fingertips reach ~4 cm beyond it)

    def success(self, data: mujoco.MjData) -> bool:
        joint = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, "kettle")
        adr = self.model.jnt_qposadr[joint]
        goal = np.array([-0.23, 0.75, 1.62, 0.99, 0.0, 0.0, -0.06])
        return float(np.linalg.norm(data.qpos[adr:adr + 7] - goal)) < 0.3

    def _kettle(self, data: mujoco.MjData) -> np.ndarray:
        return data.xpos[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "kettle")].copy()

    def _phase(self, name: str, data: mujoco.MjData) -> tuple[Command, bool]:
        approach = self._remember("approach", np.array([0.0, np.sin(self.PITCH), -np.cos(self.PITCH)]))
        site = self._remember("site", self._site(data, "kettle_site"))
        if "rot" not in self.memory:  # the handle is a bar along x: close the fingers across it
            self.memory["rot"] = self._grasp_frame(data, site - self.GRASP_DEPTH * approach, approach, Y)
        rot = self.memory["rot"]
        if name == "pre":
            pos = site - 0.12 * approach  # aligned tightly: a tilted hand knocks the handle on the way in
            return Command(pos, rot, OPEN), self._reached(data, pos, rot, tol=0.015, rot_tol=0.06)
        if name == "approach":
            pos = site - self.GRASP_DEPTH * approach
            return Command(pos, rot, OPEN), self._reached(data, pos, rot, tol=0.01)
        if name == "grasp":
            return self._hold(data, "grasp", CLOSE, 5)
        grip = self._remember("grip", self.ik.site_pose(data)[0])
        offset = self._remember("offset", grip - self._kettle(data))
        if name == "lift":
            pos = grip + np.array([0.0, 0.0, 0.07])
            return Command(pos, rot, CLOSE), self._reached(data, pos, rot, tol=0.015, rot_tol=0.1)
        if name == "carry":
            pos = self.GOAL + offset + np.array([0.0, 0.0, 0.07])
            return Command(pos, rot, CLOSE), self._reached(data, pos, rot, tol=0.015, rot_tol=0.1)
        if name == "lower":
            pos = self.GOAL + offset + np.array([0.0, 0.0, 0.01])
            resting = self._kettle(data)[2] < self.GOAL[2] + 0.012  # on the burner: pressing lower only pushes it
            return Command(pos, rot, CLOSE), resting or self._reached(data, pos, rot, tol=0.012, rot_tol=0.1)
        if name == "release":
            return self._hold(data, "release", OPEN, 4)
        return self._retreat(data, -0.10 * approach)


class BottomBurner(Subtask):
    """Grasp the bottom-left knob (knob_Joint_2) and twist it about +y; the grasp frame leaves joint-7 headroom.

    The two grasp frames (fingers along +x or -x) differ by pi about the approach axis, i.e. by ~pi in joint 7;
    the one whose joint 7, at the grasp and after the planned twist, stays farthest from its limits is used
    (solved ahead on a kinematic copy of the arm).
    """

    PHASES = ("pre", "approach", "grasp", "twist", "release", "retreat")
    TURN_ANGLE = -0.95  # knob angle to reach (goal -0.88, threshold 0.3 on [knob, burner] jointly)
    TWIST = 1.2  # planned rotation of the hand (rad), used to choose the grasp frame
    TILT = -0.4  # the hand points 0.4 rad above horizontal: level or down, the knob's height locks joint 6
    GRASP_DEPTH = 0.035  # hand site this far short of the knob site (the fingertips reach ~4 cm beyond it)

    def success(self, data: mujoco.MjData) -> bool:
        knob = self._qpos(data, "knob_Joint_2")
        burner = self._qpos(data, "bottom_left_burner")
        return float(np.hypot(knob + 0.88, burner + 0.01)) < 0.3

    def _anchor(self, data: mujoco.MjData) -> np.ndarray:
        return self._remember("anchor", data.xanchor[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT,
                                                                      "knob_Joint_2")])

    def _turned(self, data: mujoco.MjData, pos: np.ndarray, rot: np.ndarray, angle: float
                ) -> tuple[np.ndarray, np.ndarray]:
        """The hand pose ``(pos, rot)`` turned by ``angle`` about the knob's axis (world +y through the knob)."""
        anchor = self._anchor(data)
        turn = _rot_about(Y, angle)
        return anchor + turn @ (pos - anchor), turn @ rot

    def _phase(self, name: str, data: mujoco.MjData) -> tuple[Command, bool]:
        site = self._remember("site", self._site(data, "knob2_site"))
        approach = self._remember("approach", np.array([0.0, np.cos(self.TILT), -np.sin(self.TILT)]))
        grasp_pos = site - self.GRASP_DEPTH * approach
        if "rot" not in self.memory:  # the knob is a vertical bar: close the fingers along x
            self.memory["rot"] = self._grasp_frame(
                data, grasp_pos, approach, X, twist=lambda p, r: self._turned(data, p, r, self.TWIST)
            )
        rot = self.memory["rot"]
        if name == "pre":
            pos = grasp_pos - 0.10 * approach
            return Command(pos, rot, OPEN), self._reached(data, pos, rot, tol=0.03, rot_tol=0.15)
        if name == "approach":
            return Command(grasp_pos, rot, OPEN), self._reached(data, grasp_pos, rot, tol=0.01)
        if name == "grasp":
            return self._hold(data, "grasp", CLOSE, 5)
        if name == "twist":
            grip = self._remember("grip", self.ik.site_pose(data)[0])
            angle = self._qpos(data, "knob_Joint_2")
            pos, target_rot = self._turned(data, grip, rot, -angle + 0.6)
            return Command(pos, target_rot, CLOSE), angle < self.TURN_ANGLE
        if name == "release":
            return self._hold(data, "release", OPEN, 4)
        return self._retreat(data, -0.10 * approach)


class LightSwitch(Subtask):
    """With the fingers closed, start beside the switch (+x) and push it towards -x."""

    PHASES = ("pre", "approach", "push", "retreat")
    ON_ANGLE = -0.6  # the env counts the switch done within 0.3 of [-0.69, -0.05]

    def success(self, data: mujoco.MjData) -> bool:
        switch = self._qpos(data, "light_switch")
        joint = self._qpos(data, "light_joint")
        return float(np.hypot(switch + 0.69, joint + 0.05)) < 0.3

    def _phase(self, name: str, data: mujoco.MjData) -> tuple[Command, bool]:
        site = self._remember("site", self._site(data, "light_site"))
        rot = self._remember("rot", frame_from_axes(Y, X))
        if name == "pre":
            pos = site + np.array([0.06, -0.10, 0.0])
            return Command(pos, rot, CLOSE), self._reached(data, pos, rot, tol=0.03, rot_tol=0.15)
        if name == "approach":
            pos = site + np.array([0.06, 0.0, 0.0])
            return Command(pos, rot, CLOSE), self._reached(data, pos, rot, tol=0.012)
        if name == "push":
            pos = site + np.array([-0.12, 0.0, 0.0])
            return Command(pos, rot, CLOSE), self._qpos(data, "light_switch") < self.ON_ANGLE
        return self._retreat(data, np.array([0.0, -0.10, 0.0]), fingers=CLOSE)


SUBTASKS: dict[str, type[Subtask]] = {
    "microwave": Microwave,
    "kettle": Kettle,
    "bottom burner": BottomBurner,
    "light switch": LightSwitch,
}
