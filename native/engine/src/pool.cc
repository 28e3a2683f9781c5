// Average pooling and its gradient over NHWC tensors, with TensorFlow.js's semantics: padded
// positions are left out of an average, and the gradient is dy / (window area), as tfjs's
// AvgPoolGrad computes it (oneDNN has no such mixed mode). Images are split across OpenMP threads.
#include <omp.h>
#include <algorithm>
#include "common.h"

namespace simkit {
namespace {

/** Elements a thread should touch at least before pooling splits across threads (see threadsFor). */
constexpr double kElementsPerThread = 65536;

// Geometry, in order: n, h, w, c, outH, outW, kH, kW, strideH, strideW, padTop, padLeft.
struct PoolGeometry {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl;

  static PoolGeometry read(const Napi::CallbackInfo& info, size_t first) {
    int64_t v[12];
    for (size_t i = 0; i < 12; i++) v[i] = integer(info, first + i);
    PoolGeometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
    if (g.n < 0 || g.h <= 0 || g.w <= 0 || g.c <= 0 || g.oh <= 0 || g.ow <= 0 || g.kh <= 0 || g.kw <= 0 || g.sh <= 0 || g.sw <= 0) {
      throw Napi::RangeError::New(info.Env(), "simkit engine: invalid pooling geometry");
    }
    return g;
  }
  int64_t inSize() const { return n * h * w * c; }
  int64_t outSize() const { return n * oh * ow * c; }
  /** Valid input rows [y0, y1) of output row oy (likewise columns). */
  void rows(int64_t oy, int64_t& y0, int64_t& y1) const {
    y0 = std::max<int64_t>(oy * sh - pt, 0);
    y1 = std::min<int64_t>(oy * sh - pt + kh, h);
  }
  void cols(int64_t ox, int64_t& x0, int64_t& x1) const {
    x0 = std::max<int64_t>(ox * sw - pl, 0);
    x1 = std::min<int64_t>(ox * sw - pl + kw, w);
  }
};

Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPool", [&] {
    Heap heap(info[0]);
    const PoolGeometry g = PoolGeometry::read(info, 3);
    const float* x = heap.floats(info.Env(), integer(info, 1), g.inSize(), "avgPool input");
    float* y = heap.floats(info.Env(), integer(info, 2), g.outSize(), "avgPool output");
#pragma omp parallel for collapse(2) schedule(static) num_threads(threadsFor(g.inSize(), kElementsPerThread))
    for (int64_t b = 0; b < g.n; b++) {
      for (int64_t oy = 0; oy < g.oh; oy++) {
        int64_t y0, y1;
        g.rows(oy, y0, y1);
        for (int64_t ox = 0; ox < g.ow; ox++) {
          int64_t x0, x1;
          g.cols(ox, x0, x1);
          float* out = y + ((b * g.oh + oy) * g.ow + ox) * g.c;
          std::fill(out, out + g.c, 0.f);
          for (int64_t iy = y0; iy < y1; iy++) {
            for (int64_t ix = x0; ix < x1; ix++) {
              const float* in = x + ((b * g.h + iy) * g.w + ix) * g.c;
              for (int64_t d = 0; d < g.c; d++) out[d] += in[d];
            }
          }
          const float scale = 1.f / static_cast<float>(std::max<int64_t>((y1 - y0) * (x1 - x0), 1));
          for (int64_t d = 0; d < g.c; d++) out[d] *= scale;
        }
      }
    }
  });
}

// avgPoolGrad(heap, dy, dx, ...geometry)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPoolGrad", [&] {
    Heap heap(info[0]);
    const PoolGeometry g = PoolGeometry::read(info, 3);
    const float* dy = heap.floats(info.Env(), integer(info, 1), g.outSize(), "avgPoolGrad dy");
    float* dx = heap.floats(info.Env(), integer(info, 2), g.inSize(), "avgPoolGrad dx");
    const float scale = 1.f / static_cast<float>(g.kh * g.kw);
#pragma omp parallel for schedule(static) num_threads(threadsFor(g.inSize(), kElementsPerThread))
    for (int64_t b = 0; b < g.n; b++) {
      float* image = dx + b * g.h * g.w * g.c;
      std::fill(image, image + g.h * g.w * g.c, 0.f);
      for (int64_t oy = 0; oy < g.oh; oy++) {
        int64_t y0, y1;
        g.rows(oy, y0, y1);
        for (int64_t ox = 0; ox < g.ow; ox++) {
          int64_t x0, x1;
          g.cols(ox, x0, x1);
          const float* grad = dy + ((b * g.oh + oy) * g.ow + ox) * g.c;
          for (int64_t iy = y0; iy < y1; iy++) {
            for (int64_t ix = x0; ix < x1; ix++) {
              float* out = image + (iy * g.w + ix) * g.c;
              for (int64_t d = 0; d < g.c; d++) out[d] += grad[d] * scale;
            }
          }
        }
      }
    }
  });
}

}  // namespace

void registerPoolKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
}

}  // namespace simkit
