// Training-mode kernels that replace chains of tfjs ops in a batch-norm network's step:
// - batch normalisation with batch statistics, forward (moments and normalisation) and backward (the
//   input, scale and offset gradients, the moments' own paths included), where tfjs composes moments,
//   FusedBatchNorm and their gradients from about twenty kernels, each a pass through memory;
// - ReLU and its gradient, multi-threaded, one pass each (tfjs: wasm's single-threaded Relu; Step,
//   Cast and Multiply for the gradient).
// Rows of `channels` values (NHWC, channels last) are split into fixed contiguous ranges per thread,
// and per-thread partial sums are added in thread order, so results depend only on the thread count.
// Sums accumulate in float over blocks of rows and in double across blocks: a channel's batch holds
// up to millions of values.
#include <omp.h>
#include <algorithm>
#include <vector>
#include "common.h"

namespace simkit {
namespace {

constexpr double kElementsPerThread = 65536;

struct Rows {
  int64_t rows;
  int64_t channels;
  int threads;
};

Rows rowsOf(const Napi::CallbackInfo& info, size_t countAt, const char* kernel) {
  const int64_t count = integer(info, countAt), channels = integer(info, countAt + 1);
  if (count <= 0 || channels <= 0 || count % channels != 0) {
    throw Napi::RangeError::New(info.Env(), std::string("simkit engine: ") + kernel + " needs whole rows of channels");
  }
  const int64_t rows = count / channels;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threadsFor(static_cast<double>(count), kElementsPerThread), rows)));
  return {rows, channels, threads};
}

/** Rows summed in float before their sum joins the double total: vectorised, and exact enough for 64 terms. */
constexpr int64_t kRowsPerBlock = 64;

/**
 * Per channel, the sums of `first(r, c)` and `second(r, c)` over all rows: each thread sums its own
 * range of rows, then the partials are added in thread order.
 */
template <typename First, typename Second>
void channelSums(const Rows& shape, std::vector<double>& first, std::vector<double>& second, First firstOf, Second secondOf) {
  const int64_t channels = shape.channels;
  std::vector<double> partial(static_cast<size_t>(shape.threads) * channels * 2, 0.0);
#pragma omp parallel num_threads(shape.threads)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t begin = shape.rows * t / team, end = shape.rows * (t + 1) / team;
    double* a = partial.data() + static_cast<size_t>(t) * channels * 2;
    double* b = a + channels;
    std::vector<float> blockA(channels), blockB(channels);
    for (int64_t block = begin; block < end; block += kRowsPerBlock) {
      std::fill(blockA.begin(), blockA.end(), 0.f);
      std::fill(blockB.begin(), blockB.end(), 0.f);
      for (int64_t r = block; r < std::min(end, block + kRowsPerBlock); r++) {
        for (int64_t c = 0; c < channels; c++) {
          blockA[c] += firstOf(r, c);
          blockB[c] += secondOf(r, c);
        }
      }
      for (int64_t c = 0; c < channels; c++) {
        a[c] += blockA[c];
        b[c] += blockB[c];
      }
    }
  }
  first.assign(channels, 0.0);
  second.assign(channels, 0.0);
  for (int t = 0; t < shape.threads; t++) {
    const double* a = partial.data() + static_cast<size_t>(t) * channels * 2;
    for (int64_t c = 0; c < channels; c++) {
      first[c] += a[c];
      second[c] += a[channels + c];
    }
  }
}

// batchNormTraining(heap, x, scale, offset, movingMean, movingVariance, y, mean, variance,
// newMovingMean, newMovingVariance, count, channels, epsilon, decay): mean and (biased) variance of
// each channel over the rows, y = (x − mean)·scale/sqrt(variance + ε) + offset, and the moving
// averages updated as tfjs-layers does, moving − (moving − batch)·decay. The variance is summed
// around each channel's first value, so a large mean does not cancel it away.
Napi::Value BatchNormTraining(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormTraining", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const Rows shape = rowsOf(info, 11, "batchNormTraining");
    const int64_t channels = shape.channels, count = shape.rows * channels;
    const float epsilon = real(info, 13), decay = real(info, 14);
    const float* x = heap.floats(env, integer(info, 1), count, "batchNormTraining input");
    const float* scale = heap.floats(env, integer(info, 2), channels, "batchNormTraining scale");
    const float* offset = heap.floats(env, integer(info, 3), channels, "batchNormTraining offset");
    const float* movingMean = heap.floats(env, integer(info, 4), channels, "batchNormTraining moving mean");
    const float* movingVariance = heap.floats(env, integer(info, 5), channels, "batchNormTraining moving variance");
    float* y = heap.floats(env, integer(info, 6), count, "batchNormTraining output");
    float* mean = heap.floats(env, integer(info, 7), channels, "batchNormTraining mean");
    float* variance = heap.floats(env, integer(info, 8), channels, "batchNormTraining variance");
    float* newMovingMean = heap.floats(env, integer(info, 9), channels, "batchNormTraining new moving mean");
    float* newMovingVariance = heap.floats(env, integer(info, 10), channels, "batchNormTraining new moving variance");
    std::vector<double> sum, squares;
    channelSums(
        shape, sum, squares, [&](int64_t r, int64_t c) { return x[r * channels + c] - x[c]; },
        [&](int64_t r, int64_t c) {
          const float d = x[r * channels + c] - x[c];
          return d * d;
        });
    std::vector<float> multiplier(channels), shift(channels);
    for (int64_t c = 0; c < channels; c++) {
      const double shiftedMean = sum[c] / static_cast<double>(shape.rows);
      const double var = std::max(0.0, squares[c] / static_cast<double>(shape.rows) - shiftedMean * shiftedMean);
      mean[c] = static_cast<float>(x[c] + shiftedMean);
      variance[c] = static_cast<float>(var);
      multiplier[c] = scale[c] / std::sqrt(variance[c] + epsilon);
      shift[c] = offset[c] - mean[c] * multiplier[c];
      newMovingMean[c] = movingMean[c] - (movingMean[c] - mean[c]) * decay;
      newMovingVariance[c] = movingVariance[c] - (movingVariance[c] - variance[c]) * decay;
    }
#pragma omp parallel for schedule(static) num_threads(shape.threads)
    for (int64_t r = 0; r < shape.rows; r++) {
      const float* in = x + r * channels;
      float* out = y + r * channels;
      for (int64_t c = 0; c < channels; c++) out[c] = in[c] * multiplier[c] + shift[c];
    }
  });
}

// batchNormTrainingGrad(heap, dy, x, mean, variance, scale, dx, dScale, dOffset, count, channels,
// epsilon): the gradients of batchNormTraining's output through the batch statistics too. With
// r = 1/sqrt(variance + ε), x̂ = (x − mean)·r, s the scale and n rows, per channel:
//   dOffset = Σdy;  dScale = Σdy·x̂;  dx = s·r·(dy − dOffset/n − x̂·dScale/n).
Napi::Value BatchNormTrainingGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormTrainingGrad", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const Rows shape = rowsOf(info, 9, "batchNormTrainingGrad");
    const int64_t channels = shape.channels, count = shape.rows * channels;
    const float epsilon = real(info, 11);
    const float* dy = heap.floats(env, integer(info, 1), count, "batchNormTrainingGrad dy");
    const float* x = heap.floats(env, integer(info, 2), count, "batchNormTrainingGrad input");
    const float* mean = heap.floats(env, integer(info, 3), channels, "batchNormTrainingGrad mean");
    const float* variance = heap.floats(env, integer(info, 4), channels, "batchNormTrainingGrad variance");
    const float* scale = heap.floats(env, integer(info, 5), channels, "batchNormTrainingGrad scale");
    float* dx = heap.floats(env, integer(info, 6), count, "batchNormTrainingGrad dx");
    float* dScale = heap.floats(env, integer(info, 7), channels, "batchNormTrainingGrad dScale");
    float* dOffset = heap.floats(env, integer(info, 8), channels, "batchNormTrainingGrad dOffset");
    std::vector<double> sumDy, sumDyCentred;
    channelSums(
        shape, sumDy, sumDyCentred, [&](int64_t r, int64_t c) { return dy[r * channels + c]; },
        [&](int64_t r, int64_t c) {
          const int64_t i = r * channels + c;
          return dy[i] * (x[i] - mean[c]);
        });
    // dx = a·dy + b·(x − mean) + k per channel, with a = s·r, b = −s·r³·Σdy(x−mean)/n, k = −a·Σdy/n.
    std::vector<float> a(channels), b(channels), k(channels);
    const double n = static_cast<double>(shape.rows);
    for (int64_t c = 0; c < channels; c++) {
      const double rsqrt = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
      const double s = scale[c];
      dOffset[c] = static_cast<float>(sumDy[c]);
      dScale[c] = static_cast<float>(sumDyCentred[c] * rsqrt);
      const double ac = s * rsqrt, bc = -s * rsqrt * rsqrt * rsqrt * sumDyCentred[c] / n;
      a[c] = static_cast<float>(ac);
      b[c] = static_cast<float>(bc);
      k[c] = static_cast<float>(-ac * sumDy[c] / n);
    }
#pragma omp parallel for schedule(static) num_threads(shape.threads)
    for (int64_t r = 0; r < shape.rows; r++) {
      const float* g = dy + r * channels;
      const float* in = x + r * channels;
      float* out = dx + r * channels;
      for (int64_t c = 0; c < channels; c++) out[c] = a[c] * g[c] + b[c] * (in[c] - mean[c]) + k[c];
    }
  });
}

// reluGrad(heap, dy, x, dx, count): dx = dy where x > 0, else 0. dy's bits are masked rather than
// chosen by a branch, which the compiler vectorises (a branch on random signs mispredicts half the time).
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "reluGrad", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const int64_t count = integer(info, 4);
    if (count <= 0) throw Napi::RangeError::New(env, "simkit engine: reluGrad needs elements");
    const float* dy = heap.floats(env, integer(info, 1), count, "reluGrad dy");
    const float* x = heap.floats(env, integer(info, 2), count, "reluGrad input");
    float* dx = heap.floats(env, integer(info, 3), count, "reluGrad dx");
    const auto* gradient = reinterpret_cast<const uint32_t*>(dy);
    auto* out = reinterpret_cast<uint32_t*>(dx);
#pragma omp parallel for simd schedule(static) num_threads(threadsFor(static_cast<double>(count), kElementsPerThread))
    for (int64_t i = 0; i < count; i++) out[i] = gradient[i] & (0u - static_cast<uint32_t>(x[i] > 0.f));
  });
}

// relu(heap, x, y, count): y = x, or 0 where x < 0 (NaN passes, as in tfjs), masking bits as reluGrad does.
Napi::Value Relu(const Napi::CallbackInfo& info) {
  return guarded(info, "relu", [&] {
    Heap heap(info[0]);
    Napi::Env env = info.Env();
    const int64_t count = integer(info, 3);
    if (count <= 0) throw Napi::RangeError::New(env, "simkit engine: relu needs elements");
    const float* x = heap.floats(env, integer(info, 1), count, "relu input");
    const auto* bits = reinterpret_cast<const uint32_t*>(x);
    auto* out = reinterpret_cast<uint32_t*>(heap.floats(env, integer(info, 2), count, "relu output"));
#pragma omp parallel for simd schedule(static) num_threads(threadsFor(static_cast<double>(count), kElementsPerThread))
    for (int64_t i = 0; i < count; i++) out[i] = bits[i] & (0u - static_cast<uint32_t>(!(x[i] < 0.f)));
  });
}

}  // namespace

void registerTrainingKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTraining", Napi::Function::New(env, BatchNormTraining));
  exports.Set("batchNormTrainingGrad", Napi::Function::New(env, BatchNormTrainingGrad));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("relu", Napi::Function::New(env, Relu));
}

}  // namespace simkit
