// Adam's update as one pass over memory, in the order and precision of tf.AdamOptimizer:
//   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);
//   w' = (m'/(1−β1^t)) / (sqrt(v'/(1−β2^t)) + ε) · (−lr) + w
// Each product and sum is rounded to float32 as tfjs's separate ops round it (no FMA contraction:
// see -ffp-contract=off in CMakeLists.txt), so the native and the wasm routes take the same steps.
#include "common.h"

namespace simkit {
namespace {

// adam(heap, value, grad, m, v, newValue, newM, newV, count, −lr, β1, 1−β1, β2, 1−β2, ε, 1−β1^t, 1−β2^t)
// The constants come from JavaScript already rounded to float32 as tfjs rounds them (1−β1 is
// rounded from the double, not computed in float32).
Napi::Value Adam(const Napi::CallbackInfo& info) {
  return guarded(info, "adam", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const int64_t count = integer(info, 8);
    const float* w = heap.floats(env, integer(info, 1), count, "adam value");
    const float* g = heap.floats(env, integer(info, 2), count, "adam gradient");
    const float* m = heap.floats(env, integer(info, 3), count, "adam first moment");
    const float* v = heap.floats(env, integer(info, 4), count, "adam second moment");
    float* w2 = heap.floats(env, integer(info, 5), count, "adam new value");
    float* m2 = heap.floats(env, integer(info, 6), count, "adam new first moment");
    float* v2 = heap.floats(env, integer(info, 7), count, "adam new second moment");
    const float step = real(info, 9), beta1 = real(info, 10), keep1 = real(info, 11), beta2 = real(info, 12), keep2 = real(info, 13);
    const float epsilon = real(info, 14), correction1 = real(info, 15), correction2 = real(info, 16);
#pragma omp parallel for schedule(static) num_threads(threadsFor(count, 65536))
    for (int64_t i = 0; i < count; i++) {
      const float first = m[i] * beta1 + g[i] * keep1;
      const float square = g[i] * g[i];
      const float second = v[i] * beta2 + square * keep2;
      const float corrected1 = first / correction1;
      const float corrected2 = second / correction2;
      const float denominator = std::sqrt(corrected2) + epsilon;
      w2[i] = (corrected1 / denominator) * step + w[i];
      m2[i] = first;
      v2[i] = second;
    }
  });
}

}  // namespace

void registerOptimizerKernels(Napi::Env env, Napi::Object exports) { exports.Set("adam", Napi::Function::New(env, Adam)); }

}  // namespace simkit
