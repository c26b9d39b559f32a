#ifndef TRAINER_NATIVE_SLOT_AVERAGE_H
#define TRAINER_NATIVE_SLOT_AVERAGE_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
/* The average's arithmetic over one block: out[0, len) from parts[r][at, at + len); nonzero if a value of it is not finite (adamParts forms its gradient with it). */
uint32_t average_block(size_t len, const float *const *parts, uint32_t count, size_t at, double factor, float *restrict out);
napi_value average_slots(napi_env env, napi_callback_info info);
#endif
