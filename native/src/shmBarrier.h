#ifndef TRAINER_NATIVE_SHM_BARRIER_H
#define TRAINER_NATIVE_SHM_BARRIER_H
#include <node_api.h>
napi_value shm_arrive(napi_env env, napi_callback_info info);
napi_value shm_wait(napi_env env, napi_callback_info info);
#endif
