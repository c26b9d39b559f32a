#ifndef TRAINER_NATIVE_CONV_H
#define TRAINER_NATIVE_CONV_H
#include <node_api.h>
napi_value conv2d(napi_env env, napi_callback_info info);
napi_value conv2d_backprop_input(napi_env env, napi_callback_info info);
napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info);
#endif
