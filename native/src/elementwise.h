/* Element-wise work the kernels share: bias and activation after a product. */
#ifndef TRAINER_NATIVE_ELEMENTWISE_H
#define TRAINER_NATIVE_ELEMENTWISE_H

#include <node_api.h>
#include <stddef.h>

/* tfjs's fused activations and the dense op's tanh, numbered as the JS side sends them. */
enum activation { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_SIGMOID = 4, ACT_TANH = 5, ACT_COUNT = 6 };

/* c[r, j] = act(c[r, j] + bias[j or 0]) over a rows × cols matrix; bias may be NULL, bias_size is cols or 1. */
void bias_activation(float *c, size_t rows, size_t cols, const float *bias, size_t bias_size, int act, float alpha);

/* Sum or mean over the leading axes: a rows × cols matrix to cols values. */
napi_value sum_rows(napi_env env, napi_callback_info info);

/* LeakyReLU and the two kernels of its gradient. */
napi_value leaky_relu(napi_env env, napi_callback_info info);
napi_value greater(napi_env env, napi_callback_info info);
napi_value select_values(napi_env env, napi_callback_info info);
/* tanh, element-wise. */
napi_value tanh_values(napi_env env, napi_callback_info info);
/* The dense op's activation gradient from its output: dz = dy · act'(y). */
napi_value activation_grad(napi_env env, napi_callback_info info);
/* allFinite(values: Float32Array): whether no value is NaN or ±Infinity. */
napi_value all_finite(napi_env env, napi_callback_info info);


#endif
