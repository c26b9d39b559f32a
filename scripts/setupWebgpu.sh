#!/bin/sh
# Installs a Vulkan driver that Dawn accepts, for the WebGPU tests on a host without a GPU:
# Mesa's lavapipe (libvulkan_lvp.so) version 24 or later. Debian bookworm's own Mesa 22.3 is
# refused by Dawn ("shaderUniform*ArrayDynamicIndexing required"), so on bookworm it comes from
# bookworm-backports (Mesa 25); other distributions ship their own Mesa, which is installed as is.
# Does nothing when a lavapipe of Mesa >= 24 is already installed. As non-root, prints the
# commands to run and fails.
set -eu

MIN_MESA=24

installed_mesa_major() {
  # The Debian/Ubuntu package version, e.g. 25.0.7-2~bpo12+1 -> 25; nothing when not installed.
  dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null \
    | awk '$1 == "install" && $3 == "installed" { split($4, v, "."); print v[1] }'
}

major=$(installed_mesa_major || true)
if [ -n "$major" ] && [ "$major" -ge "$MIN_MESA" ]; then
  echo "setupWebgpu: mesa-vulkan-drivers $major.x already installed (lavapipe >= $MIN_MESA)"
  exit 0
fi

. /etc/os-release
backports=""
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  backports="deb http://deb.debian.org/debian bookworm-backports main"
  install="apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1"
else
  install="apt-get install -y mesa-vulkan-drivers libvulkan1"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setupWebgpu: the WebGPU tests need Mesa >= $MIN_MESA lavapipe (found: ${major:-none}); as root run:" >&2
  [ -n "$backports" ] && echo "  echo '$backports' > /etc/apt/sources.list.d/bookworm-backports.list" >&2
  echo "  apt-get update && $install" >&2
  exit 1
fi

if [ -n "$backports" ] && ! grep -rqs '^deb .*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "$backports" > /etc/apt/sources.list.d/bookworm-backports.list
fi
apt-get update
# shellcheck disable=SC2086 # $install is a command line
DEBIAN_FRONTEND=noninteractive $install
major=$(installed_mesa_major || true)
if [ -z "$major" ] || [ "$major" -lt "$MIN_MESA" ]; then
  echo "setupWebgpu: installed mesa-vulkan-drivers is ${major:-missing}, the WebGPU tests need >= $MIN_MESA" >&2
  exit 1
fi
echo "setupWebgpu: mesa-vulkan-drivers $major.x installed"
