#!/usr/bin/env bash
# Scores every DIR/PREFIX-<images seen>.npy with `trainer evaluate --images`, in order of the count, as one
# JSON line each ({images, fid, fidLogits, inceptionScore, digitsAtLeast5Percent, meanConfidence}) into OUT:
# the history files of peerQuality.sh and peerLockstep.sh, which qualityPlot.ts reads.
#   scripts/scoreSamples.sh PREFIX DIR OUT
set -euo pipefail
PREFIX=${1:?usage: scoreSamples.sh PREFIX DIR OUT}
DIR=${2:?usage: scoreSamples.sh PREFIX DIR OUT}
OUT=${3:?usage: scoreSamples.sh PREFIX DIR OUT}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: > "$OUT"
# Sorted by the count in the name (DIR itself may hold dashes).
for f in $(cd "$DIR" && ls "$PREFIX"-*.npy | sort -t- -k2 -n); do
  n=${f%.npy}; n=${n#"$PREFIX"-}
  node "$ROOT/dist/src/cli.js" evaluate --images "$DIR/$f" --json --log-format json 2>/dev/null \
    | node -e "let s='';process.stdin.on('data',(d)=>s+=d).on('end',()=>{const e=JSON.parse(s);console.log(JSON.stringify({images:$n,fid:e.generated.fid,fidLogits:e.generated.fidLogits,inceptionScore:e.generated.inceptionScore,digitsAtLeast5Percent:e.generated.coverage.digitsAtLeast5Percent,meanConfidence:e.generated.coverage.meanConfidence}))})" \
    >> "$OUT"
done
