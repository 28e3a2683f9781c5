// What the oneDNN kernels share: the primitive cache, binding heap memory, and a convolution's
// geometry (NHWC activations, filters reordered to the layout oneDNN prefers). The convolution
// kernels (dnnl-kernels.cc) run dense and depthwise convolutions; depthwise.cc exports the latter.
#pragma once
#include <omp.h>
#include <algorithm>
#include <optional>
#include <unordered_map>
#include "common.h"

namespace simkit {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/** Below about this much work per thread, one thread is faster than a team (see threadsFor). */
constexpr double kFlopsPerThread = 4e6;

struct KeyHash {
  size_t operator()(const std::vector<int64_t>& key) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : key) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

/** Primitives by shape key. A run sees few shapes; the bound only guards against unbounded growth. */
template <typename Entry>
class PrimitiveCache {
 public:
  template <typename Make>
  Entry& get(const std::vector<int64_t>& key, Make make) {
    auto found = entries_.find(key);
    if (found != entries_.end()) return found->second;
    if (entries_.size() >= 512) entries_.clear();
    return entries_.emplace(key, make()).first->second;
  }

 private:
  std::unordered_map<std::vector<int64_t>, Entry, KeyHash> entries_;
};

inline memory bind(const memory::desc& desc, float* data) { return memory(desc, cpuEngine(), data); }

// ---- convolution ----------------------------------------------------------------------------
// Geometry, in order: n, h, w, c, outH, outW, outC, kH, kW, strideH, strideW, dilationH,
// dilationW, padTop, padLeft, padBottom, padRight (TensorFlow's dilation: 1 = dense).
// A depthwise convolution is oneDNN's grouped convolution with one group per input channel:
// outC = c · multiplier, and tfjs's filter [kH, kW, c, multiplier] is oneDNN's
// (group, multiplier, 1, kH, kW) weights with strides (multiplier, 1, ·, kW·outC, outC).

struct ConvGeometry {
  int64_t n, h, w, c, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  /** 1, or c for a depthwise convolution. */
  int64_t groups = 1;

  static ConvGeometry read(const Napi::CallbackInfo& info, size_t first, bool depthwise) {
    int64_t v[17];
    for (size_t i = 0; i < 17; i++) v[i] = integer(info, first + i);
    ConvGeometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
    if (depthwise) {
      if (g.c <= 0 || g.oc % g.c != 0) throw std::invalid_argument("a depthwise convolution's output channels must be a multiple of its input channels");
      g.groups = g.c;
    }
    return g;
  }
  std::vector<int64_t> key() const { return {n, h, w, c, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, omp_get_max_threads()}; }
  double flops() const { return 2.0 * n * oh * ow * oc * kh * kw * (c / groups); }
  memory::desc src() const { return memory::desc({n, c, h, w}, dt::f32, tag::nhwc); }
  memory::dims weightDims() const { return groups == 1 ? memory::dims{oc, c, kh, kw} : memory::dims{groups, oc / groups, 1, kh, kw}; }
  /** tfjs's filter: HWIO, or [kH, kW, c, multiplier] for a depthwise convolution. */
  memory::desc weights() const {
    if (groups == 1) return memory::desc(weightDims(), dt::f32, tag::hwio);
    return memory::desc(weightDims(), dt::f32, memory::dims{oc / groups, 1, oc, kw * oc, oc});
  }
  /** Weights in whatever layout oneDNN picks: with it, brgconv and the direct JIT kernels, about 1.5× faster forward than GEMM on HWIO. */
  memory::desc preferredWeights() const { return memory::desc(weightDims(), dt::f32, tag::any); }
  memory::desc dst() const { return memory::desc({n, oc, oh, ow}, dt::f32, tag::nhwc); }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilations() const { return {dh - 1, dw - 1}; }
  memory::dims padBefore() const { return {pt, pl}; }
  memory::dims padAfter() const { return {pb, pr}; }
  int64_t srcSize() const { return n * h * w * c; }
  int64_t weightsSize() const { return kh * kw * (c / groups) * oc; }
  int64_t dstSize() const { return n * oh * ow * oc; }

  dnnl::convolution_forward::desc forward(bool withBias) const {
    const auto prop = dnnl::prop_kind::forward_training;
    const auto algo = dnnl::algorithm::convolution_direct;
    if (withBias) {
      return {prop, algo, src(), preferredWeights(), memory::desc({oc}, dt::f32, tag::a), dst(), strides(), dilations(), padBefore(), padAfter()};
    }
    return {prop, algo, src(), preferredWeights(), dst(), strides(), dilations(), padBefore(), padAfter()};
  }
};

/** A convolution's forward call after the heap: x, filter, bias (−1: none), out, the geometry, activation code, alpha. */
struct ConvForwardCall {
  int64_t x, filter, bias, out;
  ConvGeometry g;
  int64_t activation;
  float alpha;

  static ConvForwardCall read(const Napi::CallbackInfo& info, bool depthwise) {
    return {integer(info, 1), integer(info, 2), integer(info, 3), integer(info, 4), ConvGeometry::read(info, 5, depthwise), integer(info, 22), real(info, 23)};
  }
  bool hasBias() const { return bias >= 0; }
  /** Call after setting the thread count: primitives are made for one. */
  std::vector<int64_t> key() const {
    std::vector<int64_t> k = g.key();
    k.insert(k.end(), {hasBias(), activation, static_cast<int64_t>(alpha * 1e6)});
    return k;
  }
};

/** A convolution gradient's call after the heap: two input offsets, the output's, then the geometry. */
struct ConvGradientCall {
  int64_t first, second, out;
  ConvGeometry g;

  static ConvGradientCall read(const Napi::CallbackInfo& info, bool depthwise) { return {integer(info, 1), integer(info, 2), integer(info, 3), ConvGeometry::read(info, 4, depthwise)}; }
};

/** matmul's call after the heap: C[batch] = act(op(A[batch]) · op(B[batch]) + bias); a batch of 1 broadcasts. */
struct MatmulCall {
  int64_t a, b, bias, c, batchA, batchB, m, n, k, transA, transB, activation;
  float alpha;

  static MatmulCall read(const Napi::CallbackInfo& info) {
    int64_t v[12];
    for (size_t i = 0; i < 12; i++) v[i] = integer(info, 1 + i);
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], real(info, 13)};
  }
  bool hasBias() const { return bias >= 0; }
  int64_t batch() const { return std::max(batchA, batchB); }
  double flops() const { return 2.0 * batch() * m * n * k; }
  /** Call after setting the thread count: primitives are made for one. */
  std::vector<int64_t> key() const { return {batchA, batchB, m, n, k, transA, transB, hasBias(), activation, static_cast<int64_t>(alpha * 1e6), omp_get_max_threads()}; }
  /** A and B as row-major (or, transposed, column-major) matrices of `type`. */
  memory::desc aDesc(dt type) const { return memory::desc({batchA, m, k}, type, transA ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1}); }
  memory::desc bDesc(dt type) const { return memory::desc({batchB, k, n}, type, transB ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1}); }
  memory::desc cDesc() const { return memory::desc({batch(), m, n}, dt::f32, tag::abc); }
  memory::desc biasDesc() const { return hasBias() ? memory::desc({1, 1, n}, dt::f32, tag::abc) : memory::desc(); }
};

/**
 * A convolution with the weights in the layout oneDNN prefers (which lets it pick its direct JIT
 * kernels over im2col + GEMM), and the reorder between that layout and tfjs's HWIO.
 */
struct BlockedConvEntry {
  dnnl::primitive primitive;
  memory::desc blocked;
  std::optional<dnnl::reorder> reorder;
  std::vector<float> buffer;

  BlockedConvEntry(dnnl::primitive p, const memory::desc& user, const memory::desc& preferred, bool toUser) : primitive(std::move(p)), blocked(preferred) {
    if (preferred == user) return;
    buffer.resize(preferred.get_size() / sizeof(float));
    reorder = toUser ? dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), preferred, cpuEngine(), user))
                     : dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), user, cpuEngine(), preferred));
  }
  /** The weights memory the primitive reads or writes, given tfjs's. */
  memory weights(const memory::desc& user, float* data) { return reorder ? memory(blocked, cpuEngine(), buffer.data()) : memory(user, cpuEngine(), data); }
};

/** The convolution kernels (dnnl-kernels.cc), dense or depthwise; `kernel` names them in errors. */
Napi::Value convolutionForward(const Napi::CallbackInfo& info, const char* kernel, bool depthwise);
Napi::Value convolutionBackwardData(const Napi::CallbackInfo& info, const char* kernel, bool depthwise);
Napi::Value convolutionBackwardWeights(const Napi::CallbackInfo& info, const char* kernel, bool depthwise);

}  // namespace simkit
