"""MuJoCo simulation node: the robot's ROS interface, backed by athena_description's MJCF.

One thread steps MuJoCo once per tick (``publish_rate_hz``, paced to the wall clock) and
publishes ``joint_states`` + ``imu`` (sensor-data QoS) and ``/clock``; ``odom`` (ground truth)
at 50 Hz, ``/diagnostics`` at 1 Hz. It is a robot driver as docs/driver.md describes: it
applies the latest ``joint_command`` (athena_msgs/JointCommand, matched by name) at every
physics step, with the commanded gains, not gains of its own:
``tau = kp (q* - q) + kd (dq* - dq) + tau_ff``, clipped to the effort limits. Until the first
command with stiffness arrives the robot hangs still (physics paused, as on a hoist); a robot
that gets no command for ``command_timeout_s`` goes limp with damping (as a motor driver's
watchdog does).
"""

from __future__ import annotations

import gc
import signal
import threading
import time

import mujoco
import numpy as np
import rclpy
from athena_description.robot_contract import load_robot_contract
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger

from athena_msgs.msg import JointCommand
from athena_sim import worlds

PAYLOAD_BODY = "torso_link"   # where a payload sits (as in the training's payload event)


def load_model(friction_scale: float = 1.0, mass_scale: float = 1.0,
               dt: float = 0.002, world: str = "flat",
               payload_kg: float = 0.0) -> tuple[mujoco.MjModel, mujoco.MjData]:
    """Load the scene with ``world`` (a worlds spec), apply randomization, reset to ``stand``.

    ``payload_kg`` is added to the torso after the mass scaling (its inertia unchanged: a
    load at the body's centre of mass), as the training's payload event adds it.
    """
    if payload_kg < 0:
        raise ValueError(f"payload_kg must be >= 0, got {payload_kg}")
    model, _ = worlds.build(world)
    model.opt.timestep = dt
    model.geom_friction[:, 0] *= friction_scale
    model.body_mass[1:] *= mass_scale
    model.body_inertia[1:] *= mass_scale
    if payload_kg:
        model.body_mass[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, PAYLOAD_BODY)] += \
            payload_kg
    data = mujoco.MjData(model)
    reset_to_stand(model, data)
    return model, data


def reset_to_stand(model: mujoco.MjModel, data: mujoco.MjData) -> None:
    """Reset to the standing keyframe (or the model default), on the ground of the start.

    The worlds that begin on a landing (stairs_down, slope_down) lift the robot onto it.
    """
    key = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "stand")
    if key >= 0:
        mujoco.mj_resetDataKeyframe(model, data, key)
    else:
        mujoco.mj_resetData(model, data)
    data.qpos[2] += worlds.start_z(model)
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


class MotorCommands:
    """The commanded motor law applied through MuJoCo's position actuators.

    A position actuator computes ``gain * ctrl + bias0 + bias1 * q + bias2 * dq``; with gain =
    kp, bias = (0, -kp, -kd) and ctrl = q* that is ``kp (q* - q) - kd dq``, integrated
    implicitly in the velocity (implicitfast: stable for any kd at a 2 ms step, as the
    drivers' kHz loops are). The rest of the law, ``kd dq* + tau_ff``, is a joint force.
    The actuator clips its part to the effort limit; the sum is clipped again here.

    ``strength`` < 1 makes weaker motors (the robustness gate's): the commanded kp and kd
    and the effort limit are all scaled by it, as the training's motor-strength event does.
    """

    def __init__(self, model: mujoco.MjModel, act: np.ndarray, vadr: np.ndarray,
                 effort: np.ndarray, strength: float = 1.0) -> None:
        if not 0 < strength <= 2:
            raise ValueError(f"motor strength must be in (0, 2], got {strength}")
        self.model, self.act, self.vadr = model, act, vadr
        self.strength = strength
        self.effort = np.asarray(effort, dtype=float) * strength
        model.actuator_forcerange[act] *= strength              # the actuator's own clip
        model.jnt_actfrcrange[model.actuator_trnid[act, 0]] *= strength   # the joint's
        self.lo, self.hi = model.actuator_ctrlrange[act].T

    def apply(self, data: mujoco.MjData, q: np.ndarray, dq: np.ndarray, kp: np.ndarray,
              kd: np.ndarray, tau: np.ndarray) -> None:
        """Set the law for the next physics steps (arrays in contract order)."""
        m, a = self.model, self.act
        if self.strength != 1.0:
            kp, kd = kp * self.strength, kd * self.strength
        m.actuator_gainprm[a, 0] = kp
        m.actuator_biasprm[a, 1] = -kp
        m.actuator_biasprm[a, 2] = -kd
        data.ctrl[a] = np.clip(q, self.lo, self.hi)
        data.qfrc_applied[self.vadr] = np.clip(kd * dq + tau, -self.effort, self.effort)


class SimNode(Node):
    """MuJoCo behind joint_command → joint_states / imu / odom / clock."""

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
        payload = float(p("payload_kg", 0.0).value)          # on the torso
        strength = float(p("motor_strength", 1.0).value)     # kp, kd, effort x this
        self.world = str(p("world", "flat").value)   # worlds spec: NAME or NAME@difficulty
        self.rng = np.random.default_rng(int(p("seed", 0).value))
        self.record_path = str(p("record_path", "").value)   # .gif/.mp4; "" = no recording
        self.record_fps = float(p("record_fps", 20.0).value)
        # Hold physics (publishing the initial state) until the first command with stiffness
        # (STAND), like a robot on a hoist until its controller holds it: a controller that
        # starts late never meets a robot that has been pushed or has fallen without it.
        self.start_on_stand = bool(p("start_on_stand", True).value)
        # A driver without commands for this long goes limp with damping (its watchdog).
        self.command_timeout_s = float(p("command_timeout_s", 0.2).value)
        self._frames_qpos: list[np.ndarray] = []

        self.robot = load_robot_contract()
        self.model, self.data = load_model(friction, mass, 1.0 / self.rate_hz, self.world,
                                           payload)
        m = self.model
        names = self.robot.joint_names
        self.qadr, self.vadr, self.act = contract_indices(m, names)
        self.index = {n: i for i, n in enumerate(names)}
        self.motors = MotorCommands(m, self.act, self.vadr, self.robot.effort_limits,
                                    strength)
        n = self.robot.num_joints
        # the latest command, in contract order: (q*, dq*, kp, kd, tau, receipt time)
        self._command: tuple | None = None
        self._limp = (np.zeros(n), self.robot.damping.copy())   # kp 0, contract damping
        self._tripped = False          # the watchdog has fired since the last command
        self._order_key: tuple[str, ...] | None = None
        self._order_pick: np.ndarray | None = None

        def sens(name: str) -> slice:
            s = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR, name)
            a = m.sensor_adr[s]
            return slice(a, a + m.sensor_dim[s])

        self.s_gyro, self.s_acc, self.s_quat = sens("imu_gyro"), sens("imu_accel"), sens("imu_quat")
        self._stepping = not self.start_on_stand
        self._reset_requested = False
        self._delay_buf: list = []

        self.pub_js = self.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
        self.pub_imu = self.create_publisher(Imu, "imu", qos_profile_sensor_data)
        self.pub_odom = self.create_publisher(Odometry, "odom", 10)
        self.pub_clock = self.create_publisher(Clock, "/clock", 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # reliable, as the policy node publishes it (a best-effort subscriber would match too)
        self.create_subscription(JointCommand, "joint_command", self._on_command,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
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
        self.commands = 0
        self.rejected = 0
        self.watchdog_trips = 0
        self.mode = -1   # the latest command's mode (JointCommand.MODE_*), -1: none yet
        self.wall_t0 = time.monotonic()
        self.sim_t0 = self.data.time
        self.rtf = 0.0
        self.rate_measured = 0.0
        self._running = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self.get_logger().info(f"MuJoCo sim at {self.rate_hz:.0f} Hz, world {self.world}, "
                               f"friction x{friction}, mass x{mass}, payload {payload} kg, "
                               f"motors x{strength}, pushes every {self.push_period} s")

    # --- callbacks -------------------------------------------------------------------
    def _on_command(self, msg: JointCommand) -> None:
        n = len(msg.name)
        fields = (msg.position, msg.velocity, msg.stiffness, msg.damping, msg.effort)
        if any(len(f) != n for f in fields):
            self.rejected += 1
            self.get_logger().warning("joint_command: array lengths differ from name's, ignored",
                                      throttle_duration_sec=1.0)
            return
        pick = self._order(tuple(msg.name))
        if pick is None:
            self.rejected += 1
            self.get_logger().warning("joint_command: not every joint commanded once, ignored",
                                      throttle_duration_sec=1.0)
            return
        arrays = [np.asarray(f, dtype=np.float64)[pick] for f in fields]
        if not all(np.isfinite(x).all() for x in arrays) or (arrays[2] < 0).any() \
                or (arrays[3] < 0).any():
            self.rejected += 1
            self.get_logger().warning("joint_command: NaN/Inf or negative gains, ignored",
                                      throttle_duration_sec=1.0)
            return
        self._command = (*arrays, time.monotonic())
        self.mode = msg.mode
        self.commands += 1
        if not self._stepping and (arrays[2] > 0).any():
            self._stepping = True

    def _order(self, names: tuple[str, ...]) -> np.ndarray | None:
        """Indices into a command's arrays, in contract order; None unless each joint is once."""
        if names != self._order_key:   # names rarely change: computed once per layout
            idx = [self.index.get(n, -1) for n in names]
            ok = sorted(i for i in idx if i >= 0) == list(range(self.robot.num_joints))
            self._order_key = names
            self._order_pick = (np.array([idx.index(j) for j in range(self.robot.num_joints)])
                                if ok else None)
        return self._order_pick

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
                self._command = None
                self._stepping = not self.start_on_stand
            self._apply_command()
            stepping = self._stepping
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

    def _apply_command(self) -> None:
        cmd = self._command
        if cmd is not None and time.monotonic() - cmd[5] <= self.command_timeout_s:
            self.motors.apply(self.data, *cmd[:5])
            self._tripped = False
            return
        if cmd is not None and not self._tripped:
            self._tripped = True
            self.watchdog_trips += 1
            self.get_logger().error(f"no joint_command for {self.command_timeout_s * 1e3:.0f} ms:"
                                    " motors limp with damping")
        kp0, kd = self._limp
        q = self.data.qpos[self.qadr]
        self.motors.apply(self.data, q, np.zeros_like(q), kp0, kd, np.zeros_like(q))

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
                     KeyValue(key="commands", value=str(self.commands)),
                     KeyValue(key="commands_rejected", value=str(self.rejected)),
                     KeyValue(key="command_mode", value=str(self.mode)),
                     KeyValue(key="watchdog_trips", value=str(self.watchdog_trips)),
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
