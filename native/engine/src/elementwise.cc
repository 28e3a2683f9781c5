// Memory-bound kernels that dominate a batch-norm network's step once convolutions are native:
// sums and means over leading axes (bias and batch-norm gradients, batch moments) and binary
// arithmetic where one operand repeats along leading axes (a per-channel vector or a scalar).
// Work is split into contiguous, fixed ranges per thread, so results depend only on the thread count.
#include <omp.h>
#include <algorithm>
#include <vector>
#include "common.h"

namespace simkit {
namespace {

constexpr double kElementsPerThread = 65536;

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

/** out = a op b with b repeating every `period` elements (period = count: same shape). */
template <Op op, bool swapped>
void repeat(const float* a, const float* b, float* out, int64_t count, int64_t period) {
  const int64_t blocks = count / period;
#pragma omp parallel for schedule(static) num_threads(threadsFor(count, kElementsPerThread)) if (blocks > 1)
  for (int64_t block = 0; block < blocks; block++) {
    const float* x = a + block * period;
    float* y = out + block * period;
    for (int64_t j = 0; j < period; j++) y[j] = swapped ? apply<op>(b[j], x[j]) : apply<op>(x[j], b[j]);
  }
}

template <Op op>
void dispatch(const float* full, const float* other, float* out, int64_t count, int64_t period, bool otherFirst) {
  if (period == count && count > 1) {
#pragma omp parallel for schedule(static) num_threads(threadsFor(count, kElementsPerThread))
    for (int64_t i = 0; i < count; i++) out[i] = otherFirst ? apply<op>(other[i], full[i]) : apply<op>(full[i], other[i]);
    return;
  }
  if (otherFirst) repeat<op, true>(full, other, out, count, period);
  else repeat<op, false>(full, other, out, count, period);
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

}  // namespace

void registerElementwiseKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceLeading", Napi::Function::New(env, ReduceLeading));
  exports.Set("binary", Napi::Function::New(env, Binary));
}

}  // namespace simkit
