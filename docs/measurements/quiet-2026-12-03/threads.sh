#!/usr/bin/env bash
# per-thread CPU ticks of every node process over a window: threads.sh SECONDS
snap() { for p in $(pgrep node); do for t in /proc/$p/task/*; do echo "$p $(basename $t) $(tr -d ' ' < $t/comm) $(awk '{print $14+$15}' $t/stat 2>/dev/null)"; done; done 2>/dev/null; }
snap > /tmp/s1; sleep $1; snap > /tmp/s2
join <(awk '{print $1"/"$2"/"$3, $4}' /tmp/s1 | sort) <(awk '{print $1"/"$2"/"$3, $4}' /tmp/s2 | sort) | awk '{d=$3-$2; if (d>0) print d, $1}' | sort -rn | head -20
for p in $(pgrep node); do echo "$p $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-120)"; done
