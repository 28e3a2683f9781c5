// Memory-bound kernels that dominate a batch-norm network's step once convolutions are native:
// sums and means over leading axes (bias and batch-norm gradients, batch moments), binary
// arithmetic where one operand repeats along leading axes (a per-channel vector or a scalar),
// tiling a block along leading axes, and batch normalisation's forward pass and gradient.
// Work is split into contiguous, fixed ranges per thread, so results depend only on the thread count.
#include <omp.h>
#include <algorithm>
#include <vector>
#include "common.h"

namespace simkit {
namespace {

constexpr double kElementsPerThread = 65536;

/** Rows of a tensor viewed as rows of `channels` values; `count` must be whole rows. */
int64_t rowsOf(Napi::Env env, int64_t count, int64_t channels, const char* kernel) {
  if (count <= 0 || channels <= 0 || count % channels != 0) throw Napi::RangeError::New(env, std::string("simkit engine: ") + kernel + " needs whole rows of channels");
  return count / channels;
}

/** A per-channel vector that may be absent (offset −1). */
const float* optionalChannels(const Heap& heap, Napi::Env env, int64_t offset, int64_t channels, const char* what) {
  return offset >= 0 ? heap.floats(env, offset, channels, what) : nullptr;
}

// reduceLeading(heap, x, out, rows, cols, mean): out[c] = Σ_r x[r·cols + c] (÷ rows when mean).
Napi::Value ReduceLeading(const Napi::CallbackInfo& info) {
  return guarded(info, "reduceLeading", [&] {
    Heap heap(info[0]);
    const int64_t rows = integer(info, 3), cols = integer(info, 4);
    const bool mean = integer(info, 5) != 0;
    if (rows <= 0 || cols <= 0) throw Napi::RangeError::New(info.Env(), "simkit engine: reduceLeading needs rows and columns");
    const float* x = heap.floats(info.Env(), integer(info, 1), rows * cols, "reduceLeading input");
    float* out = heap.floats(info.Env(), integer(info, 2), cols, "reduceLeading output");
    const int threads = std::max<int64_t>(1, std::min<int64_t>(threadsFor(static_cast<double>(rows) * cols, kElementsPerThread), rows));
    std::vector<float> partial(static_cast<size_t>(threads) * cols, 0.f);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t begin = rows * t / team, end = rows * (t + 1) / team;
      float* sum = partial.data() + static_cast<size_t>(t) * cols;
      for (int64_t r = begin; r < end; r++) {
        const float* row = x + r * cols;
        for (int64_t c = 0; c < cols; c++) sum[c] += row[c];
      }
    }
    for (int64_t c = 0; c < cols; c++) {
      float total = 0.f;
      for (int t = 0; t < threads; t++) total += partial[static_cast<size_t>(t) * cols + c];
      out[c] = mean ? total / static_cast<float>(rows) : total;
    }
  });
}

enum class Op { Add = 0, Sub = 1, Mul = 2, Div = 3, SquaredDifference = 4 };

template <Op op>
inline float apply(float a, float b) {
  if constexpr (op == Op::Add) return a + b;
  if constexpr (op == Op::Sub) return a - b;
  if constexpr (op == Op::Mul) return a * b;
  if constexpr (op == Op::Div) return a / b;
  if constexpr (op == Op::SquaredDifference) return (a - b) * (a - b);
}

/**
 * out = full op other (other op full when swapped), with `other` repeating every `period` elements:
 * the same shape (period = count), a scalar (1) or a trailing block. Each case has its own loop, so
 * the compiler vectorises it.
 */
template <Op op, bool swapped>
void elementwise(const float* full, const float* other, float* out, int64_t count, int64_t period) {
  const int threads = threadsFor(count, kElementsPerThread);
  if (period == count) {
#pragma omp parallel for simd schedule(static) num_threads(threads)
    for (int64_t i = 0; i < count; i++) out[i] = swapped ? apply<op>(other[i], full[i]) : apply<op>(full[i], other[i]);
  } else if (period == 1) {
    const float scalar = other[0];
#pragma omp parallel for simd schedule(static) num_threads(threads)
    for (int64_t i = 0; i < count; i++) out[i] = swapped ? apply<op>(scalar, full[i]) : apply<op>(full[i], scalar);
  } else {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t block = 0; block < count / period; block++) {
      const float* x = full + block * period;
      float* y = out + block * period;
#pragma omp simd
      for (int64_t j = 0; j < period; j++) y[j] = swapped ? apply<op>(other[j], x[j]) : apply<op>(x[j], other[j]);
    }
  }
}

template <Op op>
void dispatch(const float* full, const float* other, float* out, int64_t count, int64_t period, bool otherFirst) {
  if (otherFirst) elementwise<op, true>(full, other, out, count, period);
  else elementwise<op, false>(full, other, out, count, period);
}

// binary(heap, full, other, out, op, count, period, otherFirst): out = full op other, or other op
// full when otherFirst; `other` repeats every `period` elements of `full` (count: same shape, 1: scalar).
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guarded(info, "binary", [&] {
    Heap heap(info[0]);
    const int64_t op = integer(info, 4), count = integer(info, 5), period = integer(info, 6);
    const bool otherFirst = integer(info, 7) != 0;
    if (count <= 0 || period <= 0 || count % period != 0) throw Napi::RangeError::New(info.Env(), "simkit engine: binary needs a period that divides the element count");
    const float* full = heap.floats(info.Env(), integer(info, 1), count, "binary input");
    const float* other = heap.floats(info.Env(), integer(info, 2), period, "binary broadcast input");
    float* out = heap.floats(info.Env(), integer(info, 3), count, "binary output");
    switch (static_cast<Op>(op)) {
      case Op::Add: dispatch<Op::Add>(full, other, out, count, period, otherFirst); break;
      case Op::Sub: dispatch<Op::Sub>(full, other, out, count, period, otherFirst); break;
      case Op::Mul: dispatch<Op::Mul>(full, other, out, count, period, otherFirst); break;
      case Op::Div: dispatch<Op::Div>(full, other, out, count, period, otherFirst); break;
      case Op::SquaredDifference: dispatch<Op::SquaredDifference>(full, other, out, count, period, otherFirst); break;
      default: throw Napi::RangeError::New(info.Env(), "simkit engine: unknown binary operation " + std::to_string(op));
    }
  });
}

// repeatBlock(heap, x, out, blockSize, copies): out = x, x, …, x (copies times). tfjs's batch-norm
// gradient tiles a per-channel vector over N·H·W this way, which wasm's Tile does element by element.
Napi::Value RepeatBlock(const Napi::CallbackInfo& info) {
  return guarded(info, "repeatBlock", [&] {
    Heap heap(info[0]);
    const int64_t blockSize = integer(info, 3), copies = integer(info, 4);
    if (blockSize <= 0 || copies <= 0) throw Napi::RangeError::New(info.Env(), "simkit engine: repeatBlock needs a block and copies");
    const float* x = heap.floats(info.Env(), integer(info, 1), blockSize, "repeatBlock input");
    float* out = heap.floats(info.Env(), integer(info, 2), blockSize * copies, "repeatBlock output");
#pragma omp parallel for schedule(static) num_threads(threadsFor(static_cast<double>(blockSize) * copies, kElementsPerThread))
    for (int64_t copy = 0; copy < copies; copy++) std::copy(x, x + blockSize, out + copy * blockSize);
  });
}

// batchNorm(heap, x, mean, variance, offset|-1, scale|-1, out, count, channels, epsilon):
// out = (x − mean[c]) · scale[c] / sqrt(variance[c] + ε) + offset[c] over NHWC rows of `channels`.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNorm", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const int64_t count = integer(info, 7), channels = integer(info, 8);
    const int64_t rows = rowsOf(env, count, channels, "batchNorm");
    const float epsilon = real(info, 9);
    const float* x = heap.floats(env, integer(info, 1), count, "batchNorm input");
    const float* mean = heap.floats(env, integer(info, 2), channels, "batchNorm mean");
    const float* variance = heap.floats(env, integer(info, 3), channels, "batchNorm variance");
    const float* offset = optionalChannels(heap, env, integer(info, 4), channels, "batchNorm offset");
    const float* scale = optionalChannels(heap, env, integer(info, 5), channels, "batchNorm scale");
    float* out = heap.floats(env, integer(info, 6), count, "batchNorm output");
    std::vector<float> multiplier(channels), shift(channels);
    for (int64_t c = 0; c < channels; c++) {
      multiplier[c] = (scale ? scale[c] : 1.f) / std::sqrt(variance[c] + epsilon);
      shift[c] = offset ? offset[c] : 0.f;
    }
#pragma omp parallel for schedule(static) num_threads(threadsFor(count, kElementsPerThread))
    for (int64_t r = 0; r < rows; r++) {
      const float* in = x + r * channels;
      float* y = out + r * channels;
      for (int64_t c = 0; c < channels; c++) y[c] = (in[c] - mean[c]) * multiplier[c] + shift[c];
    }
  });
}

// batchNormGrad(heap, dy, x, mean, variance, scale|-1, dx, dMean, dVariance, dScale, dOffset, count,
// channels, epsilon): the gradients tfjs's FusedBatchNorm gradient composes from about fifteen ops,
// in one pass. With r = 1/sqrt(variance + ε) and s the scale (1 without one), per channel:
//   dx = dy·r·s;  dOffset = Σdy;  dScale = r·Σdy(x−mean);  dMean = −r·s·Σdy;  dVariance = −½·r³·s·Σdy(x−mean).
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormGrad", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const int64_t count = integer(info, 11), channels = integer(info, 12);
    const int64_t rows = rowsOf(env, count, channels, "batchNormGrad");
    const float epsilon = real(info, 13);
    const float* dy = heap.floats(env, integer(info, 1), count, "batchNormGrad dy");
    const float* x = heap.floats(env, integer(info, 2), count, "batchNormGrad input");
    const float* mean = heap.floats(env, integer(info, 3), channels, "batchNormGrad mean");
    const float* variance = heap.floats(env, integer(info, 4), channels, "batchNormGrad variance");
    const float* scale = optionalChannels(heap, env, integer(info, 5), channels, "batchNormGrad scale");
    float* dx = heap.floats(env, integer(info, 6), count, "batchNormGrad dx");
    float* dMean = heap.floats(env, integer(info, 7), channels, "batchNormGrad dMean");
    float* dVariance = heap.floats(env, integer(info, 8), channels, "batchNormGrad dVariance");
    float* dScale = heap.floats(env, integer(info, 9), channels, "batchNormGrad dScale");
    float* dOffset = heap.floats(env, integer(info, 10), channels, "batchNormGrad dOffset");
    std::vector<float> rsqrt(channels), factor(channels);
    for (int64_t c = 0; c < channels; c++) {
      rsqrt[c] = 1.f / std::sqrt(variance[c] + epsilon);
      factor[c] = rsqrt[c] * (scale ? scale[c] : 1.f);
    }
    const int threads = std::max<int64_t>(1, std::min<int64_t>(threadsFor(count, kElementsPerThread), rows));
    std::vector<float> sums(static_cast<size_t>(threads) * channels * 2, 0.f);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t begin = rows * t / team, end = rows * (t + 1) / team;
      float* sumDy = sums.data() + static_cast<size_t>(t) * channels * 2;
      float* sumDyCentred = sumDy + channels;
      for (int64_t r = begin; r < end; r++) {
        const float* g = dy + r * channels;
        const float* in = x + r * channels;
        float* out = dx + r * channels;
        for (int64_t c = 0; c < channels; c++) {
          sumDy[c] += g[c];
          sumDyCentred[c] += g[c] * (in[c] - mean[c]);
          out[c] = g[c] * factor[c];
        }
      }
    }
    for (int64_t c = 0; c < channels; c++) {
      float sumDy = 0.f, sumDyCentred = 0.f;
      for (int t = 0; t < threads; t++) {
        sumDy += sums[static_cast<size_t>(t) * channels * 2 + c];
        sumDyCentred += sums[static_cast<size_t>(t) * channels * 2 + channels + c];
      }
      dOffset[c] = sumDy;
      dScale[c] = rsqrt[c] * sumDyCentred;
      dMean[c] = -factor[c] * sumDy;
      dVariance[c] = -0.5f * rsqrt[c] * rsqrt[c] * factor[c] * sumDyCentred;
    }
  });
}

}  // namespace

void registerElementwiseKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("repeatBlock", Napi::Function::New(env, RepeatBlock));
  exports.Set("reduceLeading", Napi::Function::New(env, ReduceLeading));
  exports.Set("binary", Napi::Function::New(env, Binary));
}

}  // namespace simkit
