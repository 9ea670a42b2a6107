"""MuJoCo simulation node: the robot's ROS interface, backed by athena_description's MJCF.

One thread steps MuJoCo once per tick (``publish_rate_hz``, paced to the wall clock) and
publishes ``joint_states`` + ``imu`` (sensor-data QoS) and ``/clock``; ``odom`` (ground truth)
at 50 Hz, ``/diagnostics`` at 1 Hz. The model's position actuators apply the contract's PD
law at every physics step with ctrl = the latest ``joint_targets`` (matched by name).
"""

from __future__ import annotations

import gc
import signal
import threading
import time

import mujoco
import numpy as np
import rclpy
from athena_description.paths import mjcf_scene_path
from athena_description.robot_contract import load_robot_contract
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger


def load_model(friction_scale: float = 1.0, mass_scale: float = 1.0,
               dt: float = 0.002) -> tuple[mujoco.MjModel, mujoco.MjData]:
    """Load the scene, apply randomization, and reset to the ``stand`` keyframe."""
    model = mujoco.MjModel.from_xml_path(str(mjcf_scene_path()))
    model.opt.timestep = dt
    model.geom_friction[:, 0] *= friction_scale
    model.body_mass[1:] *= mass_scale
    model.body_inertia[1:] *= mass_scale
    data = mujoco.MjData(model)
    reset_to_stand(model, data)
    return model, data


def reset_to_stand(model: mujoco.MjModel, data: mujoco.MjData) -> None:
    """Reset to the standing keyframe (or the model default if it has none)."""
    key = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "stand")
    if key >= 0:
        mujoco.mj_resetDataKeyframe(model, data, key)
    else:
        mujoco.mj_resetData(model, data)
    mujoco.mj_forward(model, data)


def contract_indices(model: mujoco.MjModel,
                     joint_names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Qpos addresses, dof addresses and actuator ids of ``joint_names``, in that order."""
    jids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in joint_names]
    if min(jids) < 0:
        raise RuntimeError(f"MJCF lacks contract joints: "
                           f"{[n for n, j in zip(joint_names, jids) if j < 0]}")
    # actuator i drives joint names[i]: map by the actuator's joint id
    act_of_joint = {int(model.actuator_trnid[a, 0]): a for a in range(model.nu)}
    return (np.array([model.jnt_qposadr[j] for j in jids]),
            np.array([model.jnt_dofadr[j] for j in jids]),
            np.array([act_of_joint[j] for j in jids]))


def base_linear_velocity_body(data: mujoco.MjData) -> np.ndarray:
    """The base's linear velocity in its own (body) frame.

    Free joint: qvel[0:3] is the world-frame linear velocity, qvel[3:6] the body-frame angular.
    """
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, data.qpos[3:7])
    return rot.reshape(3, 3).T @ data.qvel[0:3]


def push_base(data: mujoco.MjData, rng: np.random.Generator, speed: float) -> None:
    """Kick the base: add ``speed`` m/s of horizontal velocity in a random direction.

    A velocity change of the floating base, as Isaac Lab's push event does.
    """
    ang = rng.uniform(0, 2 * np.pi)
    data.qvel[0:2] += speed * np.array([np.cos(ang), np.sin(ang)])


class SimNode(Node):
    """MuJoCo behind joint_targets → joint_states / imu / odom / clock."""

    def __init__(self, **kwargs) -> None:
        super().__init__("sim_node", **kwargs)
        p = self.declare_parameter
        self.rate_hz = float(p("publish_rate_hz", 500.0).value)
        self.realtime = bool(p("realtime", True).value)
        self.joint_noise = float(p("joint_noise_std", 0.0).value)
        self.gyro_noise = float(p("gyro_noise_std", 0.0).value)
        self.delay_ticks = int(p("sensor_delay_ticks", 0).value)
        self.push_period = float(p("push_period_s", 0.0).value)
        self.push_speed = float(p("push_speed", 0.5).value)
        # Ground-truth odometry every N physics ticks (10: 50 Hz). The walking gate needs every
        # phase of the policy period: N coprime with the ticks per policy period (e.g. 7 with
        # 10) walks through all of them at a fraction of the 500 Hz message load.
        self.odom_every = int(p("odom_every_ticks", 10).value)
        if self.odom_every < 1:
            raise ValueError(f"odom_every_ticks must be >= 1, got {self.odom_every}")
        friction = float(p("friction_scale", 1.0).value)
        mass = float(p("mass_scale", 1.0).value)
        self.rng = np.random.default_rng(int(p("seed", 0).value))
        self.record_path = str(p("record_path", "").value)   # .gif/.mp4; "" = no recording
        self.record_fps = float(p("record_fps", 20.0).value)
        # Hold physics (publishing the initial state) until the first joint_targets arrive,
        # like a robot powered on by its controller: a controller that starts late never
        # meets a robot that has been pushed or has drifted without it.
        self.start_on_targets = bool(p("start_on_targets", True).value)
        self._frames_qpos: list[np.ndarray] = []

        self.robot = load_robot_contract()
        self.model, self.data = load_model(friction, mass, 1.0 / self.rate_hz)
        m = self.model
        names = self.robot.joint_names
        self.qadr, self.vadr, self.act = contract_indices(m, names)
        self.index = {n: i for i, n in enumerate(names)}
        self.ctrl_lo, self.ctrl_hi = m.actuator_ctrlrange[self.act].T

        def sens(name: str) -> slice:
            s = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR, name)
            a = m.sensor_adr[s]
            return slice(a, a + m.sensor_dim[s])

        self.s_gyro, self.s_acc, self.s_quat = sens("imu_gyro"), sens("imu_accel"), sens("imu_quat")
        self._targets: np.ndarray | None = None
        self._reset_requested = False
        self._delay_buf: list = []

        self.pub_js = self.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
        self.pub_imu = self.create_publisher(Imu, "imu", qos_profile_sensor_data)
        self.pub_odom = self.create_publisher(Odometry, "odom", 10)
        self.pub_clock = self.create_publisher(Clock, "/clock", 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(JointState, "joint_targets", self._on_targets,
                                 qos_profile_sensor_data)
        self.create_service(Trigger, "~/reset", self._srv_reset)

        self.js = JointState()
        self.js.name = list(names)
        self.imu = Imu()
        self.imu.header.frame_id = "imu_link"
        self.odom = Odometry()
        self.odom.header.frame_id = "odom"
        self.odom.child_frame_id = "pelvis"

        self.ticks = 0
        self.max_late_s = 0.0  # worst lag of the stepping loop behind real time
        self.falls = 0
        self.pushes = 0
        self.wall_t0 = time.monotonic()
        self.sim_t0 = self.data.time
        self.rtf = 0.0
        self.rate_measured = 0.0
        self._running = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self.get_logger().info(f"MuJoCo sim at {self.rate_hz:.0f} Hz, friction x{friction}, "
                               f"mass x{mass}, pushes every {self.push_period} s")

    # --- callbacks -------------------------------------------------------------------
    def _on_targets(self, msg: JointState) -> None:
        if len(msg.name) != len(msg.position):
            self.get_logger().warn("joint_targets: name/position lengths differ, ignored",
                                   throttle_duration_sec=1.0)
            return
        t = self.robot.default_positions.copy() if self._targets is None else self._targets.copy()
        for n, q in zip(msg.name, msg.position):
            i = self.index.get(n)
            if i is not None and np.isfinite(q):
                t[i] = q
        self._targets = t

    def _srv_reset(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        self._reset_requested = True
        resp.success, resp.message = True, "reset to stand"
        return resp

    # --- hot loop --------------------------------------------------------------------
    def _loop(self) -> None:
        period = 1.0 / self.rate_hz
        next_t = time.monotonic()
        win_t0, win_ticks = next_t, 0
        record_every = max(1, int(round(self.rate_hz / self.record_fps)))
        push_every = int(round(self.push_period * self.rate_hz)) if self.push_period > 0 else 0
        while self._running and rclpy.ok():
            if self._reset_requested:
                reset_to_stand(self.model, self.data)
                self._reset_requested = False
                self._targets = None
            if self._targets is not None:
                self.data.ctrl[self.act] = np.clip(self._targets, self.ctrl_lo, self.ctrl_hi)
            else:
                self.data.ctrl[self.act] = self.robot.default_positions
            stepping = self._targets is not None or not self.start_on_targets
            if stepping:
                if push_every and self.ticks and self.ticks % push_every == 0:
                    push_base(self.data, self.rng, self.push_speed)
                    self.pushes += 1
                mujoco.mj_step(self.model, self.data)
                self.ticks += 1
                if self.record_path and self.ticks % record_every == 0:
                    self._frames_qpos.append(self.data.qpos.copy())  # rendered at shutdown
            else:  # waiting for the controller: real-time factor counts from the first step
                self.wall_t0 = time.monotonic()
            try:
                self._publish(with_odom=stepping)
            except Exception:  # noqa: BLE001 - context shut down under us (Ctrl-C): stop quietly
                if rclpy.ok():
                    raise
                break
            win_ticks += 1
            now = time.monotonic()
            if now - win_t0 >= 1.0:
                self.rate_measured = win_ticks / (now - win_t0)
                self.rtf = (self.data.time - self.sim_t0) / (now - self.wall_t0)
                self._publish_diag()
                win_t0, win_ticks = now, 0
            if self.realtime:
                next_t += period
                sleep = next_t - time.monotonic()
                if sleep > 0:
                    time.sleep(sleep)
                    continue
                self.max_late_s = max(self.max_late_s, -sleep)  # how far behind real time
                if sleep < -0.1:  # far behind (e.g. CPU contention): don't burst to catch up
                    next_t = time.monotonic()

    def _publish(self, with_odom: bool = True) -> None:
        d = self.data
        sd = d.sensordata
        stamp = self._sim_stamp()
        q = d.qpos[self.qadr].copy()
        qd = d.qvel[self.vadr].copy()
        gyro = sd[self.s_gyro].copy()
        if self.joint_noise > 0:
            q += self.rng.normal(0, self.joint_noise, q.shape)
        if self.gyro_noise > 0:
            gyro += self.rng.normal(0, self.gyro_noise, 3)
        sample = (q, qd, gyro, sd[self.s_acc].copy(), sd[self.s_quat].copy())
        if self.delay_ticks > 0:
            self._delay_buf.append(sample)
            if len(self._delay_buf) <= self.delay_ticks:
                return
            sample = self._delay_buf.pop(0)
        q, qd, gyro, acc, quat = sample
        # The policy node checks sensor age against its own (monotonic) clock on receipt;
        # stamps carry sim time so recorded data lines up with /clock.
        self.js.header.stamp = stamp
        self.js.position = q.tolist()
        self.js.velocity = qd.tolist()
        self.js.effort = d.actuator_force[self.act].tolist()
        self.pub_js.publish(self.js)
        im = self.imu
        im.header.stamp = stamp
        im.orientation.w, im.orientation.x, im.orientation.y, im.orientation.z = map(float, quat)
        im.angular_velocity.x, im.angular_velocity.y, im.angular_velocity.z = map(float, gyro)
        (im.linear_acceleration.x, im.linear_acceleration.y,
         im.linear_acceleration.z) = map(float, acc)
        self.pub_imu.publish(im)
        clock = Clock()
        clock.clock = stamp
        self.pub_clock.publish(clock)
        if with_odom and self.ticks % self.odom_every == 0:
            self._publish_odom(stamp)

    def _sim_stamp(self):  # noqa: ANN202 - builtin_interfaces Time
        from builtin_interfaces.msg import Time
        t = self.data.time
        return Time(sec=int(t), nanosec=int((t % 1.0) * 1e9))

    def _publish_odom(self, stamp) -> None:  # noqa: ANN001
        d, o = self.data, self.odom
        o.header.stamp = stamp
        pos, quat = d.qpos[0:3], d.qpos[3:7]
        o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z = map(float, pos)
        (o.pose.pose.orientation.w, o.pose.pose.orientation.x, o.pose.pose.orientation.y,
         o.pose.pose.orientation.z) = map(float, quat)
        # REP-105 odom twist is in the child (body) frame.
        v_body = base_linear_velocity_body(d)
        o.twist.twist.linear.x, o.twist.twist.linear.y, o.twist.twist.linear.z = map(float, v_body)
        (o.twist.twist.angular.x, o.twist.twist.angular.y,
         o.twist.twist.angular.z) = map(float, d.qvel[3:6])
        self.pub_odom.publish(o)

    def _publish_diag(self) -> None:
        st = DiagnosticStatus(name="athena_sim", hardware_id="mujoco")
        ok = self.rtf > 0.9
        st.level = DiagnosticStatus.OK if ok else DiagnosticStatus.WARN
        st.message = "real time" if ok else "slower than real time"
        st.values = [KeyValue(key="real_time_factor", value=f"{self.rtf:.3f}"),
                     KeyValue(key="rate_hz", value=f"{self.rate_measured:.1f}"),
                     KeyValue(key="sim_time_s", value=f"{self.data.time:.2f}"),
                     KeyValue(key="max_late_ms", value=f"{self.max_late_s * 1e3:.1f}"),
                     KeyValue(key="pushes", value=str(self.pushes)),
                     KeyValue(key="base_height_m", value=f"{self.data.qpos[2]:.3f}")]
        arr = DiagnosticArray(status=[st])
        arr.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(arr)

    def destroy_node(self) -> None:
        """Stop the stepping thread, then the node."""
        self._running = False
        self._thread.join(timeout=1.0)
        if self.record_path and self._frames_qpos:
            self.write_recording()
        super().destroy_node()

    def write_recording(self) -> None:
        """Render the recorded states offscreen and write them to ``record_path``.

        Rendering happens after the run, never in the hot loop.
        """
        import imageio.v2 as imageio

        frames = []
        with mujoco.Renderer(self.model, 240, 320) as r:
            cam = mujoco.MjvCamera()
            cam.distance, cam.elevation, cam.azimuth = 2.5, -15.0, 135.0
            for qpos in self._frames_qpos:
                self.data.qpos[:] = qpos
                mujoco.mj_forward(self.model, self.data)
                cam.lookat[:] = [qpos[0], qpos[1], 0.6]
                r.update_scene(self.data, camera=cam)
                frames.append(r.render())
        if self.record_path.endswith(".gif"):
            imageio.mimsave(self.record_path, frames, duration=1000.0 / self.record_fps, loop=0)
        else:
            imageio.mimsave(self.record_path, frames, fps=self.record_fps)
        self.get_logger().info(f"wrote {len(frames)} frames to {self.record_path}")


def main(args: list[str] | None = None) -> None:
    """``ros2 run athena_sim sim_node --ros-args --params-file config/sim.yaml``."""
    rclpy.init(args=args)
    node = SimNode()
    # The stepping loop is Python too: keep full collections off the start-up objects (see
    # athena_policy_node.realtime.freeze_startup_objects; the sim does not depend on the node).
    gc.collect()
    gc.freeze()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Ctrl-C under `ros2 launch` arrives twice (the terminal's, then the one launch sends
        # each process): the second must not interrupt the clean-up (exit -2, a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
