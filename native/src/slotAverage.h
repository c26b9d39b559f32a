#ifndef TRAINER_NATIVE_SLOT_AVERAGE_H
#define TRAINER_NATIVE_SLOT_AVERAGE_H
#include <node_api.h>
napi_value average_slots(napi_env env, napi_callback_info info);
#endif
