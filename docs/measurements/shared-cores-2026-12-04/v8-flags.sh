#!/bin/bash
# Interleaved: 1 and 2 workers, default V8 vs single-threaded GC vs --single-threaded, 1500 steps, steady from 100.
R=/tmp/ab/flags.jsonl
for round in 1 2 3; do
  for cfg in "1 A" "1 C" "2 A" "2 B" "2 C"; do
    set -- $cfg; W=$1; V=$2
    case $V in A) F="";; B) F="--single-threaded-gc";; C) F="--single-threaded";; esac
    r=$($(dirname $0)/run.sh /work/main $W 1500 47600 /tmp/ab/f-$W$V-$round $F)
    echo "{\"round\":$round,\"workers\":$W,\"variant\":\"$V\",\"flags\":\"$F\",\"r\":$r}" | tee -a $R
  done
done
