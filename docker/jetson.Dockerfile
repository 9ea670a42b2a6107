# syntax=docker/dockerfile:1.7
# athena on a Jetson Orin (JetPack 6.1 = L4T r36.4: Ubuntu 22.04, CUDA 12.6, TensorRT 10.3)
# with ROS 2 Humble from the ROS apt repository. See docker/README.md.
#
#   docker build -f docker/jetson.Dockerfile -t athena:jetson .
#
# Stages: ros (L4T + ROS 2 core + Python deps) -> build (colcon) -> runtime (ros + install/).
# Layers go from rarely to often changing: apt, pip, then package.xml-only rosdep-free
# metadata, then the sources, so editing Python code rebuilds only the last layers.

ARG L4T_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36.4.0

# --------------------------------------------------------------------------- ros
FROM ${L4T_IMAGE} AS ros
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    ROS_DISTRO=humble \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ROS 2 apt source: the ros2-apt-source package (keyring + sources entry, self-updating key).
ARG ROS_APT_SOURCE_VERSION=1.1.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates=20240203~22.04.* \
      curl=7.81.0-1ubuntu1.* \
 && curl -fsSL -o /tmp/ros2-apt-source.deb \
      "https://github.com/ros-infrastructure/ros-apt-source/releases/download/${ROS_APT_SOURCE_VERSION}/ros2-apt-source_${ROS_APT_SOURCE_VERSION}.jammy_all.deb" \
 && apt-get install -y --no-install-recommends /tmp/ros2-apt-source.deb \
 && rm -f /tmp/ros2-apt-source.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      ros-humble-ros-core=0.10.0-1jammy.* \
      ros-humble-diagnostic-msgs=4.9.0-1jammy.* \
      ros-humble-std-srvs=4.9.0-1jammy.* \
      python3-pip=22.0.2+dfsg-1ubuntu0.* \
      python3-numpy=1:1.21.5-1ubuntu22.04.* \
      python3-yaml=5.4.1-1ubuntu1 \
 && apt-get purge -y curl \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*

# ONNX Runtime for JetPack 6 (CUDA + TensorRT execution providers) from the Jetson AI Lab
# index; for the CPU-only fallback build with
#   --build-arg ONNXRUNTIME=onnxruntime==1.20.1 --build-arg ORT_INDEX_URL=https://pypi.org/simple
ARG ONNXRUNTIME=onnxruntime-gpu==1.20.0
ARG ORT_INDEX_URL=https://pypi.jetson-ai-lab.io/jp6/cu126
COPY docker/requirements-jetson.txt /tmp/requirements-jetson.txt
# DL3013: ONNXRUNTIME is pinned (name==version) through the build argument above.
# hadolint ignore=DL3013
RUN python3 -m pip install --no-cache-dir -r /tmp/requirements-jetson.txt \
 && python3 -m pip install --no-cache-dir --extra-index-url "${ORT_INDEX_URL}" "${ONNXRUNTIME}" \
 && rm /tmp/requirements-jetson.txt

# --------------------------------------------------------------------------- build
FROM ros AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3-colcon-common-extensions=0.3.0-1 \
      python3-setuptools=59.6.0-1.2ubuntu0.22.04.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /ws
# Only the packages the robot runs (athena_train needs Isaac Lab and stays off the robot).
COPY src/athena_description src/athena_description
COPY src/athena_policy_node src/athena_policy_node
COPY src/athena_bringup src/athena_bringup
RUN source /opt/ros/humble/setup.bash \
 && colcon build --merge-install --install-base /opt/athena/install \
      --packages-select athena_description athena_policy_node athena_bringup \
      --event-handlers console_direct- \
 && rm -rf build log

# --------------------------------------------------------------------------- runtime
FROM ros AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG ATHENA_UID=1000
# video: GPU device nodes on Jetson (/dev/nvhost-*, /dev/nvmap) are group video.
RUN groupadd --gid "${ATHENA_UID}" athena \
 && useradd --uid "${ATHENA_UID}" --gid athena --groups video --create-home \
      --shell /usr/sbin/nologin athena \
 && mkdir -p /models /var/cache/athena /opt/athena/bin \
 && chown athena:athena /var/cache/athena
COPY --from=build /opt/athena/install /opt/athena/install
COPY --chmod=0755 docker/entrypoint.sh docker/healthcheck.sh docker/healthcheck.py /opt/athena/bin/

ENV ATHENA_POLICY=/models/policy.onnx \
    ATHENA_ENGINE_CACHE=/var/cache/athena \
    ATHENA_BACKEND=auto \
    ATHENA_RT_PRIORITY=80 \
    ATHENA_CPUS="" \
    ROS_DOMAIN_ID=0
VOLUME ["/var/cache/athena"]
USER ${ATHENA_UID}:${ATHENA_UID}
WORKDIR /home/athena
# start period covers the first FP16 engine build (tens of seconds on an Orin).
HEALTHCHECK --interval=10s --timeout=10s --start-period=180s --retries=3 \
  CMD ["/opt/athena/bin/healthcheck.sh"]
ENTRYPOINT ["/opt/athena/bin/entrypoint.sh"]
CMD []
