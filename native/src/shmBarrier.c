/*
 * A barrier word in a shared segment (the same-host all-reduce's barriers
 * without a message): a 32-bit arrival counter that every rank increments
 * atomically and waits on, spinning briefly and then sleeping on a futex.
 * The futex is not FUTEX_PRIVATE: the word is shared by processes (MAP_SHARED),
 * and the kernel keys it by the page, whichever address each process maps it at.
 * Counts wrap modulo 2^32; "reached" compares by signed difference.
 */
#define _GNU_SOURCE
#include "shmBarrier.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

/* Spins before sleeping: enough for a peer that is running to arrive (a few µs), short enough not to take a loaded core from it. */
/* Overridable at build time (CFLAGS=-DSPINS=…) for measurements; docs/measurements/ceiling-2026-12-04/spins.sh. */
#ifndef SPINS
#define SPINS 2000
#endif

static bool reached(uint32_t value, uint32_t target) { return (int32_t)(value - target) >= 0; }

/* The word at byte `offset` of the ArrayBuffer argument 0, 4-byte aligned and inside it. False with a JS error pending. */
static bool read_word(napi_env env, napi_value *argv, _Atomic uint32_t **word) {
  bool is_ab = false;
  void *data = NULL;
  size_t bytes = 0;
  int64_t offset = -1;
  napi_is_arraybuffer(env, argv[0], &is_ab);
  if (!is_ab || napi_get_arraybuffer_info(env, argv[0], &data, &bytes) != napi_ok) return fail(env, "trainer_native shm barrier: argument 0 must be a mapped segment's ArrayBuffer"), false;
  if (napi_get_value_int64(env, argv[1], &offset) != napi_ok || offset < 0 || offset % 4 != 0 || (uint64_t)offset + 4 > bytes)
    return fail(env, "trainer_native shm barrier: the offset must be a multiple of 4 inside the buffer"), false;
  *word = (_Atomic uint32_t *)((uint8_t *)data + offset);
  return true;
}

static bool read_target(napi_env env, napi_value value, uint32_t *target) {
  double t = -1;
  if (napi_get_value_double(env, value, &t) != napi_ok || t < 0 || t > 4294967295.0 || t != (double)(uint32_t)t) return fail(env, "trainer_native shm barrier: the target must be an integer in [0, 2^32)"), false;
  *target = (uint32_t)t;
  return true;
}

/* What both barrier calls start with: exactly `expected` arguments, (segment, offset, target, ...); `usage` when the count is wrong. */
static bool read_barrier_call(napi_env env, napi_callback_info info, size_t expected, const char *usage, napi_value *argv, _Atomic uint32_t **word, uint32_t *target) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != expected) return fail(env, usage), false;
  return read_word(env, argv, word) && read_target(env, argv[2], target);
}

/*
 * shmArrive(segment, offset, target): adds 1 to the word; the arrival that
 * brings it to `target` wakes every rank sleeping on it. Returns whether the
 * word has reached `target` (this rank was the last to arrive).
 */
napi_value shm_arrive(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  _Atomic uint32_t *word;
  uint32_t target;
  if (!read_barrier_call(env, info, 3, "trainer_native shmArrive: expected (segment, offset, target)", argv, &word, &target)) return NULL;
  uint32_t now = atomic_fetch_add_explicit(word, 1, memory_order_acq_rel) + 1;
  bool done = reached(now, target);
  if (done) syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  napi_value out;
  napi_get_boolean(env, done, &out);
  return out;
}

/*
 * shmWait(segment, offset, target, ms): waits until the word reaches `target`,
 * at most `ms` milliseconds (blocking this thread: callers keep it to a few ms
 * and return to their event loop between calls). True if it saw `target`
 * reached within them; false when the time ran out first (the caller asks again).
 */
napi_value shm_wait(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  _Atomic uint32_t *word;
  uint32_t target;
  double ms = -1;
  if (!read_barrier_call(env, info, 4, "trainer_native shmWait: expected (segment, offset, target, ms)", argv, &word, &target)) return NULL;
  if (napi_get_value_double(env, argv[3], &ms) != napi_ok || !(ms >= 0 && ms <= 1000)) return fail(env, "trainer_native shmWait: ms must be in [0, 1000]");
  bool done = false;
  for (int i = 0; i < SPINS && !done; i++) {
    done = reached(atomic_load_explicit(word, memory_order_acquire), target);
#if defined(__x86_64__) || defined(__i386__)
    if (!done) __builtin_ia32_pause();
#endif
  }
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  const int64_t budget = (int64_t)(ms * 1e6);
  while (!done) {
    uint32_t seen = atomic_load_explicit(word, memory_order_acquire);
    if ((done = reached(seen, target))) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = budget - ((int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec));
    if (left <= 0) break;
    struct timespec timeout = {left / 1000000000, left % 1000000000};
    /* Sleeps only while the word still holds `seen`: an arrival in between returns at once (EAGAIN). */
    if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, seen, &timeout, NULL, 0) != 0 && errno == ETIMEDOUT) break; /* not woken in time: false, the caller asks again */
  }
  napi_value out;
  napi_get_boolean(env, done, &out);
  return out;
}
