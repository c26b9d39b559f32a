#!/bin/bash
# Young generation size: workers by hand (run.sh), 1500 steps, steady from 100; 1 worker with V8's defaults or
# --max-semi-space-size=64, 2 workers --single-threaded with or without it; rounds interleaved. Build 133d6e3.
R=$(dirname $0)/semi-space.jsonl
for round in 1 2 3; do
  for V in 1 1S 2 2S; do
    case $V in 1) W=1; F="";; 1S) W=1; F="--max-semi-space-size=64";; 2) W=2; F="--single-threaded";; 2S) W=2; F="--single-threaded --max-semi-space-size=64";; esac
    r=$($(dirname $0)/run.sh /work/main $W 1500 47600 /tmp/ab/s-$V-$round $F)
    echo "{\"round\":$round,\"workers\":$W,\"flags\":\"$F\",\"r\":$r}" | tee -a $R
  done
done
