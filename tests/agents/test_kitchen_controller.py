"""The kitchen controller's IK step, joint-limit locking, grasp-frame choice, and a short closed-loop run."""

import mujoco
import numpy as np
import pytest

from rlkit.agents.franka_ik import FrankaIK, frame_from_axes, rotation_error
from rlkit.agents.kitchen_controller import HOME_QPOS, KitchenController, kitchen_env_state
from rlkit.data.generators.kitchen import make_kitchen_env


@pytest.fixture(scope="module")
def env():
    env = make_kitchen_env()
    env.reset(seed=0)
    yield env
    env.close()


def _arm_data(model, q):
    data = mujoco.MjData(model)
    data.qpos[:7] = q
    mujoco.mj_forward(model, data)
    return data


def _pose_error(ik, data, pos, rot):
    position, rotation = ik.pose_error(data, pos, rot)
    return position + rotation


def test_rotation_error_of_known_rotation():
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about z
    np.testing.assert_allclose(rotation_error(turn, np.eye(3)), [0, 0, np.pi / 2], atol=1e-9)
    frame = frame_from_axes([0, 1, 0], [1, 0.3, 0])
    np.testing.assert_allclose(frame[:, 2], [0, 1, 0])
    np.testing.assert_allclose(frame[:, 1], [1, 0, 0])
    np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)


def test_dls_step_reduces_pose_error(env):
    model = env.unwrapped.model
    ik = FrankaIK(model)
    data = _arm_data(model, HOME_QPOS)
    pos, rot = ik.site_pose(data)
    target_pos = pos + np.array([0.03, 0.02, -0.02])
    target_rot = frame_from_axes(rot[:, 2] + np.array([0.0, 0.0, 0.15]), rot[:, 1])
    before = _pose_error(ik, data, target_pos, target_rot)
    dq = ik.step(data, target_pos, target_rot)
    data.qpos[:7] += dq
    mujoco.mj_forward(model, data)
    after = _pose_error(ik, data, target_pos, target_rot)
    assert after < 0.7 * before  # one step with gain 0.8 removes most of a small error


def test_joint_at_limit_is_locked(env):
    model = env.unwrapped.model
    ik = FrankaIK(model)
    q = HOME_QPOS.copy()
    q[3] = ik.joint_limits[3, 1] - 0.01  # joint 4 at its upper limit (-0.4)
    data = _arm_data(model, q)
    jac = ik.jacobian(data)
    error = jac @ (np.eye(7)[3] * 0.05)  # exactly the hand motion of joint 4 moving up, into its limit
    unlocked = FrankaIK(model, limit_margin=0.0).solve(jac, error, data.qpos[:7])
    assert unlocked[3] > 0.01  # without locking the solve would push joint 4 past the limit
    dq = ik.solve(jac, error, data.qpos[:7])
    assert dq[3] == 0.0  # locked: it would have moved past the limit
    lower_side = ik.solve(jac, -error, data.qpos[:7])
    assert lower_side[3] < 0.0  # moving away from the limit is still allowed


def test_burner_grasp_frame_leaves_joint7_room(env):
    from rlkit.agents.kitchen_subtasks import BottomBurner

    model = env.unwrapped.model
    ik = FrankaIK(model)
    data = _arm_data(model, HOME_QPOS)
    task = BottomBurner(model, ik, np.random.default_rng(0))
    site = data.site_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, "knob2_site")]
    approach = np.array([0.0, np.cos(task.TILT), -np.sin(task.TILT)])
    chosen = task._grasp_frame(data, site - task.GRASP_DEPTH * approach, approach, np.array([1.0, 0, 0]),
                               twist=lambda p, r: task._turned(data, p, r, task.TWIST))
    low, high = ik.joint_limits[6]
    for rot in (chosen, frame_from_axes(approach, -chosen[:, 1])):
        q, pos_err, _ = ik.solve_pose(data, site - task.GRASP_DEPTH * approach, rot)
        if rot is chosen:
            chosen_room = min(q[6] - low, high - q[6])
            assert pos_err < 0.01
        else:
            other_room = min(q[6] - low, high - q[6])
    assert chosen_room >= other_room - 1e-6 or chosen_room > 0.5


def test_controller_opens_microwave(env):
    controller = KitchenController(env.unwrapped.model)
    env.reset(seed=1)
    controller.reset(["microwave"], rng=np.random.default_rng(0))
    steps = 0
    while not controller.done and steps < 150:
        env.step(controller.act(kitchen_env_state(env)))
        steps += 1
    assert controller.done
    assert controller.outcomes == {"microwave": True}
    assert env.unwrapped.data.qpos[22] < -0.45  # the env's own success test for the door


def test_controller_rejects_unknown_or_repeated_tasks(env):
    controller = KitchenController(env.unwrapped.model)
    with pytest.raises(ValueError, match="unknown kitchen subtask"):
        controller.reset(["oven"])
    with pytest.raises(ValueError, match="repeats"):
        controller.reset(["kettle", "kettle"])
