# W STEPS PORT [worker node flags] -> CPU seconds per process (/usr/bin/time) and the step-time distribution (dist.cjs) of a run started by hand; run from the repository root. Outputs under /tmp/prof/cpuW*.
mkdir -p /tmp/prof; cp "$(dirname "$0")/dist.cjs" /tmp/prof/
# W STEPS PORT FLAGS -> cpu seconds per process
w=$1; N=$2; P=$3; shift 3; o=/tmp/prof/cpu$w; rm -rf $o*
/usr/bin/time -f "coord user %U sys %S wall %e" node dist/src/cli.js coordinator --workers $w --port $P --steps $N --no-metrics --sample-every 0 --out $o --log-format json > $o.c.log 2>$o.c.time &
c=$!; sleep 0.5
for i in $(seq 1 $w); do /usr/bin/time -f "worker user %U sys %S wall %e ctxsw vol %w invol %c" node "$@" dist/src/cli.js worker --coordinator tcp://127.0.0.1:$P --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $o.w$i.log 2>$o.w$i.time & done
wait $c; wait
tail -1 $o.c.time; for i in $(seq 1 $w); do tail -1 $o.w$i.time; done
node /tmp/prof/dist.cjs $o
