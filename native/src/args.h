/* Reading a kernel call's arguments: the wasm heap and checked float regions in it. */
#ifndef TRAINER_NATIVE_ARGS_H
#define TRAINER_NATIVE_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 16

/* One call: its arguments and the heap (argument 0) they point into. */
typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
  uint8_t *heap;
  size_t heap_bytes;
} call_t;

/* Reads the arguments; argument 0 must be the heap's ArrayBuffer. False (with a JS error pending) on failure. */
bool call_init(napi_env env, napi_callback_info info, size_t expected, call_t *call);
/* An integer argument within [lo, hi]. */
bool arg_int(call_t *call, size_t i, int64_t lo, int64_t hi, int64_t *out);
/* A double argument. */
bool arg_double(call_t *call, size_t i, double *out);
/* `count` floats at the byte offset in argument i, checked against the heap; a negative offset is "none" when `optional`. */
bool arg_floats(call_t *call, size_t i, size_t count, bool optional, float **out);
/* The same for `count` values of `size` bytes each. */
bool arg_region(call_t *call, size_t i, size_t count, size_t size, bool optional, void **out);
/* An Int32Array argument of exactly `count` elements. */
bool arg_int32s(call_t *call, size_t i, size_t count, int32_t **out);
/* A Float32Array's data and length (a JS array, not the heap); false, with no error pending, for anything else. */
bool float32_array(napi_env env, napi_value value, float **data, size_t *length);
/* The most Float32Arrays one call takes as parts (the ranks of one host). */
#define MAX_PARTS 256

/* A JS array of `min` to MAX_PARTS Float32Arrays, each of exactly `length` floats, into parts[]; false, with no error pending, for anything else. */
bool float32_arrays(napi_env env, napi_value array, uint32_t min, size_t length, const float **parts, uint32_t *count);
/* Throws a JS Error with the kernel's name; returns NULL for the caller to return. */
napi_value fail(napi_env env, const char *message);

/* Reusable scratch memory outside the wasm heap; grows to the largest request and stays there. */
float *scratch(size_t slot, size_t count);

#endif
