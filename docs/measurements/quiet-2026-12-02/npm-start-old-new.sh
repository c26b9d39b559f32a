#!/usr/bin/env bash
# npm start before the native path (commit e471836, the issue's "3 min 43 s"; run with --backend wasm as its auto chose then,
# since Mesa 25 is now installed and that old auto would take lavapipe) and npm start now, one after the other, quiet.
set -u
Q=/tmp/quiet; mkdir -p $Q
cd /tmp/old && npm run build > /dev/null 2>&1   # untimed warm-up build (a first tsc is a full one)
touch src/version.ts; s=$(date +%s.%N); npm run build > /dev/null 2>&1 && node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --backend wasm > $Q/old-npmstart.log 2>&1; rc=$?; e=$(date +%s.%N)
echo "{\"bench\":\"npm start at e471836 (before the native path), --backend wasm\",\"exit\":$rc,\"seconds\":$(echo "$e - $s" | bc)}" | tee -a $Q/npm-start-old-new.jsonl
cd /work/main && touch src/version.ts; s=$(date +%s.%N); npm start > $Q/new-npmstart.log 2>&1; rc=$?; e=$(date +%s.%N)
echo "{\"bench\":\"npm start now\",\"commit\":\"$(git rev-parse --short HEAD)\",\"exit\":$rc,\"seconds\":$(echo "$e - $s" | bc)}" | tee -a $Q/npm-start-old-new.jsonl
