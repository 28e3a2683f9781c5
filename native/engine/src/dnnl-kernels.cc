// Matmul, convolution (forward, backward data, backward weights) and max pooling through oneDNN, in the
// layouts TensorFlow.js keeps: row-major matrices and NHWC activations, never reordered. Filters
// (small) are reordered between tfjs's HWIO and the layout oneDNN prefers. Primitives are created
// once per shape and cached.
#include <omp.h>
#include <optional>
#include <unordered_map>
#include "convolution.h"

namespace simkit {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

dnnl::primitive_attr activationAttr(int64_t code, float alpha) {
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  switch (static_cast<Activation>(code)) {
    case Activation::Linear: break;
    case Activation::Relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::Relu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case Activation::LeakyRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    case Activation::Sigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case Activation::Elu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(code));
  }
  attr.set_post_ops(ops);
  return attr;
}

namespace {

// ---- matmul ---------------------------------------------------------------------------------
// matmul(heap, a, b, bias|-1, out, batchA, batchB, m, n, k, transA, transB, activation, alpha)
// C[batch] = act(op(A[batch]) · op(B[batch]) + bias); a batch of 1 broadcasts.

struct MatmulEntry {
  dnnl::matmul primitive;
  memory::desc a, b, bias, c;
};

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return guarded(info, "matmul", [&] {
    Heap heap(info[0]);
    const MatmulCall call = MatmulCall::read(info);
    const int64_t m = call.m, n = call.n, k = call.k;
    ThreadScope threads(threadsFor(call.flops(), kFlopsPerThread));
    Napi::Env env = info.Env();
    if (call.batch() == 1 && !call.hasBias() && !call.transA && call.activation == static_cast<int64_t>(Activation::Linear)) {
      // oneDNN's BLAS-style sgemm needs no cached primitive and measured 2-15% faster than the matmul
      // primitive on a dense layer's forward and input-gradient shapes; with a transposed left
      // operand (a weight gradient) it reached 73 GFLOP/s on two threads where the primitive reaches 112.
      const float* a = heap.floats(env, call.a, m * k, "matmul input a");
      const float* b = heap.floats(env, call.b, k * n, "matmul input b");
      float* c = heap.floats(env, call.c, m * n, "matmul output");
      const dnnl_status_t status = dnnl_sgemm('N', call.transB ? 'T' : 'N', m, n, k, 1.f, a, k, b, call.transB ? k : n, 0.f, c, n);
      if (status != dnnl_success) throw dnnl::error(status, "sgemm");
      return;
    }
    static PrimitiveCache<MatmulEntry> cache;
    MatmulEntry& entry = cache.get(call.key(), [&] {
      memory::desc a = call.aDesc(dt::f32), b = call.bDesc(dt::f32), c = call.cDesc(), bias = call.biasDesc();
      dnnl::matmul::desc desc = call.hasBias() ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
      dnnl::matmul::primitive_desc pd(desc, activationAttr(call.activation, call.alpha), cpuEngine());
      return MatmulEntry{dnnl::matmul(pd), a, b, bias, c};
    });
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, bind(entry.a, heap.floats(env, call.a, call.batchA * m * k, "matmul input a"))},
        {DNNL_ARG_WEIGHTS, bind(entry.b, heap.floats(env, call.b, call.batchB * k * n, "matmul input b"))},
        {DNNL_ARG_DST, bind(entry.c, heap.floats(env, call.c, call.batch() * m * n, "matmul output"))},
    };
    if (call.hasBias()) args.emplace(DNNL_ARG_BIAS, bind(entry.bias, heap.floats(env, call.bias, n, "matmul bias")));
    entry.primitive.execute(cpuStream(), args);
    cpuStream().wait();
  });
}

/** A cached primitive that needs nothing besides itself (max pooling's forward pass). */
struct PrimitiveEntry {
  dnnl::primitive primitive;
};

}  // namespace

// conv2d(heap, x, filter, bias|-1, out, ...geometry, activation, alpha), depthwiseConv2d likewise
Napi::Value convolutionForward(const Napi::CallbackInfo& info, const char* kernel, bool depthwise) {
  return guarded(info, kernel, [&] {
    const std::string name(kernel);
    Heap heap(info[0]);
    const ConvForwardCall call = ConvForwardCall::read(info, depthwise);
    const ConvGeometry& g = call.g;
    const int64_t xOff = call.x, wOff = call.filter, biasOff = call.bias, yOff = call.out, act = call.activation;
    const float alpha = call.alpha;
    const bool hasBias = call.hasBias();
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    const std::vector<int64_t> key = call.key();
    static PrimitiveCache<BlockedConvEntry> cache;
    BlockedConvEntry& entry = cache.get(key, [&] {
      dnnl::convolution_forward::primitive_desc pd(g.forward(hasBias), activationAttr(act, alpha), cpuEngine());
      return BlockedConvEntry(dnnl::convolution_forward(pd), g.weights(), pd.weights_desc(), false);
    });
    Napi::Env env = info.Env();
    float* filter = heap.floats(env, wOff, g.weightsSize(), (name + " filter").c_str());
    memory weights = entry.weights(g.weights(), filter);
    memory user = bind(g.weights(), filter);
    if (entry.reorder) entry.reorder->execute(cpuStream(), user, weights);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, bind(g.src(), heap.floats(env, xOff, g.srcSize(), (name + " input").c_str()))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, bind(g.dst(), heap.floats(env, yOff, g.dstSize(), (name + " output").c_str()))},
    };
    if (hasBias) args.emplace(DNNL_ARG_BIAS, bind(memory::desc({g.oc}, dt::f32, tag::a), heap.floats(env, biasOff, g.oc, (name + " bias").c_str())));
    entry.primitive.execute(cpuStream(), args);
    cpuStream().wait();
  });
}

// conv2dBackpropInput(heap, dy, filter, dx, ...geometry), depthwiseConv2dBackpropInput likewise
Napi::Value convolutionBackwardData(const Napi::CallbackInfo& info, const char* kernel, bool depthwise) {
  return guarded(info, kernel, [&] {
    const std::string name(kernel);
    Heap heap(info[0]);
    const ConvGradientCall call = ConvGradientCall::read(info, depthwise);
    const int64_t dyOff = call.first, wOff = call.second, dxOff = call.out;
    const ConvGeometry& g = call.g;
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    static PrimitiveCache<BlockedConvEntry> cache;
    BlockedConvEntry& entry = cache.get(g.key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(g.forward(false), cpuEngine());
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.preferredWeights(), g.dst(), g.strides(), g.dilations(), g.padBefore(), g.padAfter());
      dnnl::convolution_backward_data::primitive_desc pd(desc, cpuEngine(), hint);
      return BlockedConvEntry(dnnl::convolution_backward_data(pd), g.weights(), pd.weights_desc(), false);
    });
    Napi::Env env = info.Env();
    float* filter = heap.floats(env, wOff, g.weightsSize(), (name + " filter").c_str());
    memory weights = entry.weights(g.weights(), filter);
    memory user = bind(g.weights(), filter);
    if (entry.reorder) entry.reorder->execute(cpuStream(), user, weights);
    entry.primitive.execute(cpuStream(), {
        {DNNL_ARG_DIFF_DST, bind(g.dst(), heap.floats(env, dyOff, g.dstSize(), (name + " dy").c_str()))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DIFF_SRC, bind(g.src(), heap.floats(env, dxOff, g.srcSize(), (name + " dx").c_str()))},
    });
    cpuStream().wait();
  });
}

// conv2dBackpropFilter(heap, x, dy, dw, ...geometry), depthwiseConv2dBackpropFilter likewise
Napi::Value convolutionBackwardWeights(const Napi::CallbackInfo& info, const char* kernel, bool depthwise) {
  return guarded(info, kernel, [&] {
    const std::string name(kernel);
    Heap heap(info[0]);
    const ConvGradientCall call = ConvGradientCall::read(info, depthwise);
    const int64_t xOff = call.first, dyOff = call.second, dwOff = call.out;
    const ConvGeometry& g = call.g;
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    static PrimitiveCache<BlockedConvEntry> cache;
    BlockedConvEntry& entry = cache.get(g.key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(g.forward(false), cpuEngine());
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.preferredWeights(), g.dst(), g.strides(), g.dilations(), g.padBefore(), g.padAfter());
      dnnl::convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint);
      return BlockedConvEntry(dnnl::convolution_backward_weights(pd), g.weights(), pd.diff_weights_desc(), true);
    });
    Napi::Env env = info.Env();
    float* gradient = heap.floats(env, dwOff, g.weightsSize(), (name + " dw").c_str());
    memory weights = entry.weights(g.weights(), gradient);
    entry.primitive.execute(cpuStream(), {
        {DNNL_ARG_SRC, bind(g.src(), heap.floats(env, xOff, g.srcSize(), (name + " x").c_str()))},
        {DNNL_ARG_DIFF_DST, bind(g.dst(), heap.floats(env, dyOff, g.dstSize(), (name + " dy").c_str()))},
        {DNNL_ARG_DIFF_WEIGHTS, weights},
    });
    memory user = bind(g.weights(), gradient);
    if (entry.reorder) entry.reorder->execute(cpuStream(), weights, user);
    cpuStream().wait();
  });
}

namespace {

// ---- max pooling ----------------------------------------------------------------------------
// Geometry, in order: n, h, w, c, outH, outW, kH, kW, strideH, strideW, padTop, padLeft (as in
// pool.cc). The padding after is what makes oneDNN's output size tfjs's. Padded positions never win.

struct PoolEntry {
  dnnl::primitive forward;
  dnnl::primitive backward;
  memory::desc src, dst, workspace;
  std::vector<float> scratchDst;
  std::vector<uint8_t> scratchWorkspace;
};

struct MaxPoolGeometry {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl;

  static MaxPoolGeometry read(const Napi::CallbackInfo& info, size_t first) {
    int64_t v[12];
    for (size_t i = 0; i < 12; i++) v[i] = integer(info, first + i);
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  }
  std::vector<int64_t> key() const { return {n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, omp_get_max_threads()}; }
  memory::desc src() const { return memory::desc({n, c, h, w}, dt::f32, tag::nhwc); }
  memory::desc dst() const { return memory::desc({n, c, oh, ow}, dt::f32, tag::nhwc); }
  memory::dims padAfter() const { return {std::max<int64_t>((oh - 1) * sh + kh - h - pt, 0), std::max<int64_t>((ow - 1) * sw + kw - w - pl, 0)}; }
  dnnl::pooling_forward::desc forward(dnnl::prop_kind prop) const {
    return {prop, dnnl::algorithm::pooling_max, src(), dst(), {sh, sw}, {kh, kw}, {pt, pl}, padAfter()};
  }
  int64_t srcSize() const { return n * h * w * c; }
  int64_t dstSize() const { return n * oh * ow * c; }
};

PoolEntry& maxPoolEntry(const MaxPoolGeometry& g) {
  static PrimitiveCache<PoolEntry> cache;
  return cache.get(g.key(), [&] {
    dnnl::pooling_forward::primitive_desc training(g.forward(dnnl::prop_kind::forward_training), cpuEngine());
    dnnl::pooling_backward::desc backwardDesc(dnnl::algorithm::pooling_max, g.src(), g.dst(), {g.sh, g.sw}, {g.kh, g.kw}, {g.pt, g.pl}, g.padAfter());
    dnnl::pooling_backward::primitive_desc backward(backwardDesc, cpuEngine(), training);
    PoolEntry entry{dnnl::pooling_forward(training), dnnl::pooling_backward(backward), g.src(), g.dst(), training.workspace_desc(), {}, {}};
    entry.scratchDst.resize(g.dstSize());
    entry.scratchWorkspace.resize(training.workspace_desc().get_size());
    return entry;
  });
}

int poolThreads(const MaxPoolGeometry& g) { return threadsFor(static_cast<double>(g.srcSize()), 65536); }

// maxPool(heap, x, y, ...geometry)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  return guarded(info, "maxPool", [&] {
    Heap heap(info[0]);
    const MaxPoolGeometry g = MaxPoolGeometry::read(info, 3);
    ThreadScope threads(poolThreads(g));
    static PrimitiveCache<PrimitiveEntry> cache;
    PrimitiveEntry& entry = cache.get(g.key(), [&] {
      return PrimitiveEntry{dnnl::pooling_forward(dnnl::pooling_forward::primitive_desc(g.forward(dnnl::prop_kind::forward_inference), cpuEngine()))};
    });
    Napi::Env env = info.Env();
    entry.primitive.execute(cpuStream(), {
        {DNNL_ARG_SRC, bind(g.src(), heap.floats(env, integer(info, 1), g.srcSize(), "maxPool input"))},
        {DNNL_ARG_DST, bind(g.dst(), heap.floats(env, integer(info, 2), g.dstSize(), "maxPool output"))},
    });
    cpuStream().wait();
  });
}

// maxPoolGrad(heap, dy, x, dx, ...geometry): the forward pass is run again to record where each maximum is.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "maxPoolGrad", [&] {
    Heap heap(info[0]);
    const MaxPoolGeometry g = MaxPoolGeometry::read(info, 4);
    ThreadScope threads(poolThreads(g));
    PoolEntry& entry = maxPoolEntry(g);
    Napi::Env env = info.Env();
    memory workspace(entry.workspace, cpuEngine(), entry.scratchWorkspace.data());
    entry.forward.execute(cpuStream(), {
        {DNNL_ARG_SRC, bind(entry.src, heap.floats(env, integer(info, 2), g.srcSize(), "maxPoolGrad input"))},
        {DNNL_ARG_DST, bind(entry.dst, entry.scratchDst.data())},
        {DNNL_ARG_WORKSPACE, workspace},
    });
    entry.backward.execute(cpuStream(), {
        {DNNL_ARG_DIFF_DST, bind(entry.dst, heap.floats(env, integer(info, 1), g.dstSize(), "maxPoolGrad dy"))},
        {DNNL_ARG_WORKSPACE, workspace},
        {DNNL_ARG_DIFF_SRC, bind(entry.src, heap.floats(env, integer(info, 3), g.srcSize(), "maxPoolGrad dx"))},
    });
    cpuStream().wait();
  });
}

}  // namespace

void registerDnnlKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("conv2d", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionForward(info, "conv2d", false); }));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionBackwardData(info, "conv2dBackpropInput", false); }));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionBackwardWeights(info, "conv2dBackpropFilter", false); }));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
}

}  // namespace simkit
