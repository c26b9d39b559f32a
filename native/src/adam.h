/* Adam's update (src/shared/gan/flatAdam.ts), bit for bit: over one flat tensor, or over a model's variables from averaged parts. */
#ifndef TRAINER_NATIVE_ADAM_H
#define TRAINER_NATIVE_ADAM_H

#include <node_api.h>

/* adam(heap, n, valueOff, gradOff, mOff, vOff, accBeta1Off, accBeta2Off, outValueOff, outMOff, outVOff, beta1, beta2, lr, epsilon). */
napi_value adam_update(napi_env env, napi_callback_info info);
/* adamParts(heap, parts, factor, layout, mOff, vOff, accBeta1Off, accBeta2Off, outMOff, outVOff, beta1, beta2, lr, epsilon): whether every gradient was finite. */
napi_value adam_parts(napi_env env, napi_callback_info info);

#endif
