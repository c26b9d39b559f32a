/* Element-wise work: bias and activation after a product. */
#include "elementwise.h"

#include <math.h>

void bias_activation(float *c, size_t rows, size_t cols, const float *bias, size_t bias_size, int act, float alpha) {
  for (size_t r = 0; r < rows; r++, c += cols) {
    if (bias) {
      if (bias_size == 1) for (size_t j = 0; j < cols; j++) c[j] += bias[0];
      else for (size_t j = 0; j < cols; j++) c[j] += bias[j];
    }
    switch (act) {
      case ACT_RELU: for (size_t j = 0; j < cols; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f; break;
      case ACT_RELU6: for (size_t j = 0; j < cols; j++) c[j] = c[j] < 0.0f ? 0.0f : (c[j] > 6.0f ? 6.0f : c[j]); break;
      case ACT_LEAKYRELU: for (size_t j = 0; j < cols; j++) c[j] = c[j] < 0.0f ? alpha * c[j] : c[j]; break;
      case ACT_SIGMOID: for (size_t j = 0; j < cols; j++) c[j] = 1.0f / (1.0f + expf(-c[j])); break;
      default: break;
    }
  }
}
