#ifndef TRAINER_NATIVE_SHM_H
#define TRAINER_NATIVE_SHM_H
#include <node_api.h>
napi_value shm_map(napi_env env, napi_callback_info info);
napi_value shm_unlink_name(napi_env env, napi_callback_info info);
#endif
