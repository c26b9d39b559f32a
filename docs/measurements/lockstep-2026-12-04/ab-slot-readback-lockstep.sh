cd /work/main
export BENCH_BACKEND=native BENCH_STEPS=1000 BENCH_WARMUP=100
pair() { seg=/trainer-ab-$RANDOM; for r in 0 1; do node --single-threaded --max-semi-space-size=64 dist/scripts/benchTrain.js lockstep $r $seg > /tmp/lsab$r.json & done; wait; node -e 'const a=JSON.parse(require("fs").readFileSync("/tmp/lsab0.json")),b=JSON.parse(require("fs").readFileSync("/tmp/lsab1.json"));console.log(process.argv[1], Math.round(a.steadyImagesPerSecond+b.steadyImagesPerSecond), a.hash===b.hash)' $1; }
for i in 1 2 3 4; do NO_INTO=1 pair copy; pair into; done
