#!/usr/bin/env bash
# A small network of hosts on this machine, and a short training across it.
#
# The coordinator and each worker run in a network namespace of their own, with
# their own address on a bridge (10.77.0.1 the coordinator, .2, .3, ... the
# workers; the bridge itself is .254), so every byte between them crosses a
# veth link that `--rate` caps with tc tbf in both directions. The script checks
# that every worker ended with the coordinator's replica hash, with `--metrics`
# scrapes /metrics on every host while it trains, prints one JSON line (the
# report of scripts/multihostReport.ts) and removes its namespaces and bridge
# whatever happens.
#
# With `--launch ssh` every worker host also runs an OpenSSH server, and the coordinator
# starts the workers itself (`--hosts`), as it would on real machines.
#
# Needs root, iproute2 (ip, tc), curl for --metrics, OpenSSH (sshd, ssh, ssh-keygen) for
# --launch ssh, and a build (npm run build).
#
#   scripts/multihost.sh [--workers 4] [--rate 1gbit] [--allreduce ring|star] [--steps 20]
#                        [--batch-size 16] [--arch mlp|dcgan] [--backend wasm] [--metrics]
#                        [--launch direct|ssh] [--out DIR] [--subnet 10.77.0] [--name tmh]
#                        [-- COORDINATOR FLAGS...]
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
NODE="${NODE:-$(command -v node)}"
CLI="$REPO/dist/src/cli.js"
REPORT="$REPO/dist/scripts/multihostReport.js"

workers=4 rate="" allreduce=ring steps=20 batch=16 arch=mlp backend=wasm metrics=0 launch=direct out="" subnet=10.77.0 name=tmh
extra=()
die() { echo "multihost.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --allreduce) allreduce="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --backend) backend="$2"; shift 2 ;;
    --metrics) metrics=1; shift ;;
    --launch) launch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --subnet) subnet="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown flag $1 (see --help)" ;;
  esac
done
[[ "$workers" =~ ^[0-9]+$ && "$workers" -ge 1 && "$workers" -le 200 ]] || die "--workers must be 1 to 200"
[[ -z "$rate" || "$rate" =~ ^[0-9]+(\.[0-9]+)?[kmg]?bit$ ]] || die "--rate must look like 100mbit, 1gbit or 10gbit"
[[ "$subnet" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--subnet must be the first three octets, like 10.77.0"
[[ "$name" =~ ^[a-z0-9]{1,6}$ ]] || die "--name must be 1 to 6 lowercase letters or digits (it prefixes interface names)"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v ip >/dev/null && command -v tc >/dev/null || die "needs iproute2 (ip, tc)"
[ "$metrics" = 0 ] || command -v curl >/dev/null || die "--metrics needs curl"
[[ "$launch" = direct || "$launch" = ssh ]] || die "--launch must be direct or ssh"
[ "$launch" = direct ] || { [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; } || die "--launch ssh needs OpenSSH (sshd, ssh, ssh-keygen)"
[ -f "$CLI" ] && [ -f "$REPORT" ] || die "build first: npm run build"
[ -n "$out" ] || out="$(mktemp -d /tmp/multihost.XXXXXX)"
mkdir -p "$out/metrics"

bridge="$name-br"
hosts=(c)
for ((i = 0; i < workers; i++)); do hosts+=("w$i"); done
addr() { # host -> address
  if [ "$1" = c ]; then echo "$subnet.1"; else echo "$subnet.$((${1#w} + 2))"; fi
}

pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for h in "${hosts[@]}"; do
    # Anything still running in a namespace (a worker's children included) goes with it.
    for p in $(ip netns pids "$name-$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip link del "$name-$h" 2>/dev/null || true
    ip netns del "$name-$h" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of a run that was killed before its cleanup ran.
for h in "${hosts[@]}"; do ip link del "$name-$h" 2>/dev/null || true; ip netns del "$name-$h" 2>/dev/null || true; done
ip link del "$bridge" 2>/dev/null || true

# tbf needs a bucket that refills between timer ticks at the full rate: 10 ms of traffic, at least 64 KiB.
shape() { # netns-or-empty device
  [ -n "$rate" ] || return 0
  local bits
  bits=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = substr(r, length(r) - 3, 1);
    m = (u == "k") ? 1e3 : (u == "m") ? 1e6 : (u == "g") ? 1e9 : 1; printf "%d", n * m }')
  local burst=$((bits / 8 / 100)); [ "$burst" -ge 65536 ] || burst=65536
  if [ -n "$1" ]; then ip -n "$1" link set "$2" mtu 1500; fi
  ${1:+ip netns exec "$1"} tc qdisc replace dev "$2" root tbf rate "$rate" burst "$burst" latency 100ms
}

ip link add "$bridge" type bridge
ip addr add "$subnet.254/24" dev "$bridge"
ip link set "$bridge" up
for h in "${hosts[@]}"; do
  ns="$name-$h"
  ip netns add "$ns"
  ip link add "$name-$h" type veth peer name eth0 netns "$ns"
  ip link set "$name-$h" master "$bridge" up
  ip -n "$ns" addr add "$(addr "$h")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  shape "$ns" eth0          # what the host sends
  shape "" "$name-$h"       # what the host receives
done

coord="$(addr c)"
mflag=(--no-metrics)
[ "$metrics" = 1 ] && mflag=()
launchflags=()
if [ "$launch" = ssh ]; then
  # Each worker host runs sshd on its own address, port 22, trusting one client key made for this run.
  sshdir="$out/ssh"
  mkdir -p "$sshdir" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$sshdir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$sshdir/client_key"
  cp "$sshdir/client_key.pub" "$sshdir/authorized_keys"
  hostlist=""
  for ((i = 0; i < workers; i++)); do
    printf '%s\n' "ListenAddress $(addr "w$i")" "HostKey $sshdir/host_key" "AuthorizedKeysFile $sshdir/authorized_keys" \
      "PidFile $sshdir/sshd-w$i.pid" "StrictModes no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
      "UsePAM no" "PermitRootLogin prohibit-password" "LogLevel ERROR" > "$sshdir/sshd_config-w$i"
    ip netns exec "$name-w$i" /usr/sbin/sshd -D -e -f "$sshdir/sshd_config-w$i" 2> "$out/sshd-w$i.log" &
    pids+=($!)
    hostlist+="${hostlist:+,}$(addr "w$i")"
  done
  for ((i = 0; i < workers; i++)); do
    for ((t = 0; t < 100; t++)); do
      if (exec 3<>"/dev/tcp/$(addr "w$i")/22") 2>/dev/null; then break; fi
      sleep 0.1
    done
  done
  # The workers' logs come back through the coordinator's, tagged with their rank and host.
  launchflags=(--hosts "$hostlist" --advertise "$coord" --remote-trainer "$NODE $CLI"
    --ssh-command "ssh -F /dev/null -i $sshdir/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
fi
ip netns exec "$name-c" "$NODE" "$CLI" coordinator --workers "$workers" --steps "$steps" --batch-size "$batch" \
  --arch "$arch" --allreduce "$allreduce" --backend "$backend" --port 5555 --metrics-port 9400 "${mflag[@]}" \
  --out "$out/run" --log-format json --sample-every 0 --checkpoint-every 0 "${launchflags[@]}" "${extra[@]}" 2> "$out/coordinator.log" &
cpid=$!
pids+=("$cpid")
wpids=()
if [ "$launch" = direct ]; then
  for ((i = 0; i < workers; i++)); do
    # No --advertise: each worker finds its own address (its namespace's eth0), as on a real host.
    ip netns exec "$name-w$i" "$NODE" "$CLI" worker --coordinator "tcp://$coord:5555" --rank "$i" --backend "$backend" \
      --metrics-port 9401 "${mflag[@]}" --log-format json 2> "$out/worker-$i.log" &
    wpids+=($!)
    pids+=($!)
  done
fi

if [ "$metrics" = 1 ]; then
  # Scrape each host once it has completed a step: from the root namespace, over the bridge, as Prometheus would.
  for h in "${hosts[@]}"; do
    if [ "$h" = c ]; then url="http://$coord:9400/metrics" pat='^trainer_step [1-9]'; else url="http://$(addr "$h"):9401/metrics" pat='^trainer_worker_step\{.*\} [1-9]'; fi
    for ((t = 0; t < 600; t++)); do
      if curl -sf --max-time 2 "$url" > "$out/metrics/$h.txt.tmp" && grep -Eq "$pat" "$out/metrics/$h.txt.tmp"; then
        mv "$out/metrics/$h.txt.tmp" "$out/metrics/$h.txt"
        break
      fi
      kill -0 "$cpid" 2>/dev/null || break
      sleep 0.2
    done
    rm -f "$out/metrics/$h.txt.tmp"
  done
fi

crc=0
wait "$cpid" || crc=$?
# Workers leave on their own after a finished run (30 s at most); after a failed one there is nothing to wait for.
if [ "$crc" = 0 ]; then
  for ((t = 0; t < 300; t++)); do
    alive=0
    for p in "${wpids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
fi
for p in "${wpids[@]}"; do kill "$p" 2>/dev/null || true; done
wrc=0
for p in "${wpids[@]}"; do wait "$p" || wrc=$?; done
if [ "$crc" != 0 ] || [ "$wrc" != 0 ]; then
  echo "multihost.sh: coordinator exited with $crc, a worker with $wrc; logs in $out" >&2
  tail -n 5 "$out/coordinator.log" >&2 || true
  exit 1
fi
"$NODE" "$REPORT" --out "$out" --workers "$workers" --rate "${rate:-none}" --allreduce "$allreduce" \
  --coordinator "$coord" --metrics "$metrics" --launch "$launch"
