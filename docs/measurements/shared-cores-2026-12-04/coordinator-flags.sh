#!/bin/bash
R=/tmp/ab/coordflags.jsonl
for round in 1 2 3; do
  for V in 1A 2C 2CS 2CG; do
    case $V in 1A) W=1; F=""; CF="";; 2C) W=2; F=--single-threaded; CF="";; 2CS) W=2; F=--single-threaded; CF=--single-threaded;; 2CG) W=2; F=--single-threaded; CF=--single-threaded-gc;; esac
    r=$(CFLAGS="$CF" $(dirname $0)/run.sh /work/main $W 1500 47600 /tmp/ab/c-$V-$round $F)
    echo "{\"round\":$round,\"v\":\"$V\",\"r\":$r}" | tee -a $R
  done
done
