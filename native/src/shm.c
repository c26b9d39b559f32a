/*
 * POSIX shared memory for the same-host all-reduce: a named segment mapped
 * MAP_SHARED as an external ArrayBuffer (unmapped by its finalizer when V8
 * collects it), and unlinking the name once every rank has it mapped.
 */
#define _GNU_SOURCE
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"

#define MAX_NAME 255

/* A segment name as shm_open(3) wants it: "/" then 1-254 bytes without another "/". False with a JS error pending. */
static bool read_name(napi_env env, napi_value value, char *name) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, name, MAX_NAME + 1, &len) != napi_ok || len < 2 || len >= MAX_NAME || name[0] != '/' || strchr(name + 1, '/') != NULL) {
    fail(env, "trainer_native shm: expected a name \"/NAME\" of at most 254 characters without another '/'");
    return false;
  }
  return true;
}

static napi_value fail_errno(napi_env env, const char *what, const char *name, int err) {
  char message[MAX_NAME + 128];
  snprintf(message, sizeof message, "trainer_native shm: %s %s: %s", what, name, strerror(err));
  return fail(env, message);
}

static void unmap(napi_env env, void *data, void *hint) {
  int64_t ignored;
  munmap(data, (size_t)(uintptr_t)hint);
  napi_adjust_external_memory(env, -(int64_t)(uintptr_t)hint, &ignored);
}

/*
 * shmMap(name, bytes): the segment `name` (created zero-filled, mode 0600, if it
 * does not exist) as an ArrayBuffer of `bytes` bytes shared with every process
 * that maps the same name. A segment of another size is an error, not resized.
 */
napi_value shm_map(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[MAX_NAME + 1];
  int64_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "trainer_native shmMap: expected (name, bytes)");
  if (!read_name(env, argv[0], name)) return NULL;
  if (napi_get_value_int64(env, argv[1], &bytes) != napi_ok || bytes < 1 || bytes > ((int64_t)1 << 40)) return fail(env, "trainer_native shmMap: bytes must be an integer in [1, 2^40]");
  int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
  if (fd < 0) return fail_errno(env, "cannot open", name, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail_errno(env, "cannot stat", name, err);
  }
  /* The first rank to get here sizes it; the others find it sized (ftruncate to the same size is harmless if two race). */
  if (st.st_size != bytes && (st.st_size != 0 || ftruncate(fd, (off_t)bytes) != 0)) {
    int err = st.st_size != 0 ? EEXIST : errno;
    close(fd);
    return fail_errno(env, st.st_size != 0 ? "a segment of another size exists:" : "cannot size", name, err);
  }
  void *data = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd); /* the mapping keeps the segment alive */
  if (data == MAP_FAILED) return fail_errno(env, "cannot map", name, err);
  napi_value out;
  if (napi_create_external_arraybuffer(env, data, (size_t)bytes, unmap, (void *)(uintptr_t)bytes, &out) != napi_ok) {
    munmap(data, (size_t)bytes);
    return fail(env, "trainer_native shmMap: cannot wrap the mapping in an ArrayBuffer");
  }
  /* V8 cannot see the mapping's size: tell it, so that the mappings of old generations are collected in time. */
  int64_t ignored;
  napi_adjust_external_memory(env, bytes, &ignored);
  return out;
}

/* shmUnlink(name): removes the name (mappings stay valid); true if it existed, false if it was already gone. */
napi_value shm_unlink_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[MAX_NAME + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) return fail(env, "trainer_native shmUnlink: expected (name)");
  if (!read_name(env, argv[0], name)) return NULL;
  bool removed = shm_unlink(name) == 0;
  if (!removed && errno != ENOENT) return fail_errno(env, "cannot unlink", name, errno);
  napi_value out;
  napi_get_boolean(env, removed, &out);
  return out;
}
