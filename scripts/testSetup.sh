#!/usr/bin/env bash
# What the tests need from the machine, set up before `npm test` runs them (and so in CI,
# whose .ci/run is `npm ci && npm test`). As root, installs the missing Debian packages;
# as another user, prints the one apt-get line to run and fails. Then builds the native
# addon if the package defines one and it is not built (on a fresh machine `npm ci` runs
# before libopenblas-dev is here, so it is built here).
set -euo pipefail
cd "$(dirname "$0")/.."

# The one list. Each line: a Debian package, then the commands that also count as it when
# they are on PATH (installed some other way); a package with none is checked by dpkg alone.
#   prometheus (with promtool): test/integration/prometheus.test.ts runs a real server, and
#     test/unit/deploy.test.ts checks deploy/prometheus/prometheus.yml with promtool.
#   openssh-server, openssh-client: test/integration/sshLaunch.test.ts logs into its own sshd.
#   iproute2, curl: test/integration/multihost.test.ts builds network namespaces and scrapes them.
#   libopenblas-dev, g++, make: the native BLAS addon (npm run build:native).
#   python3-torch, libopenblas0-pthread: test/integration/peerBench.test.ts runs the PyTorch
#     peer of bench:peer (without the second, torch gets the reference BLAS, 20x slower).
readonly PACKAGES="
prometheus      prometheus promtool
openssh-server  sshd
openssh-client  ssh ssh-keygen
iproute2        ip tc
curl            curl
libopenblas-dev
g++             g++
make            make
python3-torch
libopenblas0-pthread
"

installed() { # package [commands...]
  local pkg=$1
  shift
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = 'install ok installed' ] && return 0
  [ $# -gt 0 ] || return 1
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}

missing=()
while read -r pkg commands; do
  [ -n "$pkg" ] || continue
  # shellcheck disable=SC2086 # the commands are words
  installed "$pkg" $commands || missing+=("$pkg")
done <<<"$PACKAGES"

just_installed=" "
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "testSetup: the tests need Debian packages that are missing; as root, run:" >&2
    echo "apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "testSetup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Waits for a dpkg lock another install holds, rather than failing at once.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
  just_installed=" ${missing[*]} "
fi

# Installing prometheus or openssh-server starts their daemons. The tests start their own
# (on free loopback ports), so stop the ones this install started, whatever the init system;
# daemons that ran before are the machine owner's and are left alone.
stop_service() { # unit...
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$@" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    local s
    for s in "$@"; do service "${s%.service}" stop >/dev/null 2>&1 || true; done
  fi
}
case $just_installed in *" openssh-server "*) stop_service ssh.service ;; esac
case $just_installed in
  *" prometheus "*)
    stop_service prometheus.service prometheus-node-exporter.service
    # Without an init system the package's script may still have started one (as the
    # `prometheus` user): no packaged daemon may be left over.
    for pid in $(pgrep -u prometheus -x prometheus 2>/dev/null || true); do
      kill "$pid" 2>/dev/null || true
    done
    ;;
esac

# The WebGPU tests need a Vulkan driver that Dawn accepts (Mesa >= 24 lavapipe); its own
# script, since on Debian bookworm it comes from bookworm-backports.
"$BASH" scripts/setupWebgpu.sh

# The native addon, when the package has one and it is not built yet, or its sources
# changed since it was built (a stale addon lacks the kernels the code asks for).
addon=native/build/Release/trainer_native.node
if node -e 'process.exit(require("./package.json").scripts?.["build:native"] ? 0 : 1)' \
  && { [ ! -f "$addon" ] || [ -n "$(find native -path native/build -prune -o -type f -newer "$addon" -print -quit)" ]; }; then
  echo "testSetup: building the native addon (npm run build:native)" >&2
  npm run --silent build:native
fi
