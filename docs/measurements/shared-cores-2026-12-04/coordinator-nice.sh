#!/bin/bash
R=/tmp/ab/nice.jsonl
for round in 1 2 3; do
  for V in 0 10 19; do
    r=$(CNICE=$V $(dirname $0)/run.sh /work/main 2 1500 47600 /tmp/ab/n-$V-$round --single-threaded)
    echo "{\"round\":$round,\"coordinatorNice\":$V,\"r\":$r}" | tee -a $R
  done
done
