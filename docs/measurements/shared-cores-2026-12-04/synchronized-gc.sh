#!/bin/bash
# A probe, not kept: a temporary line in dist/src/worker/worker.js after replica.commit() ran
#   if (process.env.SYNC_GC && globalThis.gc && step % Number(process.env.SYNC_GC) === 0) globalThis.gc({ type: 'minor' });
# so every rank scavenges at the same step (node --expose-gc). Round 1 and two runs of round 2 collided with
# processes left from an aborted start and recorded nothing.
R=$(dirname $0)/synchronized-gc.jsonl
for round in 1 2 3; do
  for V in base k5 k10; do
    case $V in base) E="";; k5) E=5;; k10) E=10;; esac
    r=$(SYNC_GC=$E $(dirname $0)/run.sh /work/main 2 1500 47600 /tmp/ab/g-$V-$round --single-threaded --max-semi-space-size=64 --expose-gc)
    echo "{\"round\":$round,\"syncGcEvery\":\"$E\",\"r\":$r}" | tee -a $R
  done
done
