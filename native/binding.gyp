{
  "targets": [
    {
      "target_name": "trainer_native",
      "sources": ["src/module.c", "src/args.c", "src/matmul.c", "src/conv.c", "src/elementwise.c", "src/batchNorm.c", "src/adam.c", "src/shm.c", "src/shmBarrier.c", "src/slotAverage.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-lopenblas", "-lrt"]
    }
  ]
}
