// bf16 mixed precision: convolutions (forward, backward data, backward weights) and matmul with
// bf16 inputs and f32 outputs and accumulation. Tensors stay f32 in the heap (the master weights,
// activations and gradients); each kernel converts its inputs to bf16 in buffers of its own and
// writes its f32 result straight into the heap.
//
// Layouts, measured on the bench ResNet's layer shapes (AMD EPYC, avx512_core_bf16, oneDNN 2.6.3):
// forward and backward data take NHWC bf16 (brgconv / jit_bf16); backward weights takes oneDNN's
// blocked layouts (`any`) because its NHWC bf16 kernel ran 10-80× slower than f32 on the small
// spatial shapes. Mixed bf16 'any' input with an f32 NHWC output falls to the reference kernel.
//
// Each kernel returns whether it ran: false when oneDNN has only its reference implementation for
// the shape (orders of magnitude slower), so the caller runs the f32 kernel instead.
#include <omp.h>
#include <optional>
#include <string>
#include "convolution.h"

namespace simkit {
namespace {

/** Kernel calls that ran in bf16, and the oneDNN implementations they used (for tests and the verbose log). */
int64_t bf16Runs = 0;
int64_t bf16Declined = 0;
std::vector<std::string> bf16Implementations;

void noteImplementation(const std::string& name) {
  for (const auto& known : bf16Implementations)
    if (known == name) return;
  bf16Implementations.push_back(name);
}

/**
 * oneDNN 2.6's jit_bf16 backward-weights kernel splits small outputs over threads with a reduction that, on a loaded
 * machine, ran 10-300× slower on two threads than on one (2×2 and 4×4 outputs of the bench ResNet: 40-600 ms against
 * 1.4-2.4 ms); from 32×32 output pixels up two threads win (the 7×7 stem: 6 ms against 21 ms).
 */
constexpr int64_t kBackwardWeightsTeamPixels = 32 * 32;

bool isReference(const std::string& implementation) { return implementation.rfind("ref", 0) == 0; }

/** A bf16 copy of an f32 heap operand, in the layout a primitive wants. */
struct Bf16Operand {
  memory::desc user, target;
  dnnl::reorder reorder;
  std::vector<uint16_t> buffer;

  Bf16Operand(const memory::desc& userDesc, const memory::desc& targetDesc)
      : user(userDesc), target(targetDesc), reorder(dnnl::reorder::primitive_desc(cpuEngine(), userDesc, cpuEngine(), targetDesc)), buffer((targetDesc.get_size() + 1) / 2) {}
  memory convert(float* data) {
    memory in = bind(user, data);
    memory out(target, cpuEngine(), buffer.data());
    reorder.execute(cpuStream(), in, out);
    return out;
  }
};

memory::desc asBf16(const memory::desc& desc, tag layout) { return memory::desc(desc.dims(), dt::bf16, layout); }

struct ConvEntry {
  dnnl::primitive primitive;
  bool usable;
  std::optional<Bf16Operand> first, second;
  /** Backward weights: the f32 gradient in oneDNN's layout, reordered to HWIO after. */
  std::optional<BlockedConvEntry> gradient;
};

template <typename Pd>
bool accept(const Pd& pd) {
  const std::string implementation = pd.impl_info_str();
  if (isReference(implementation)) return false;
  noteImplementation(implementation);
  return true;
}

Napi::Value Declined(Napi::Env env) {
  bf16Declined++;
  return Napi::Boolean::New(env, false);
}

Napi::Value Ran(Napi::Env env) {
  bf16Runs++;
  return Napi::Boolean::New(env, true);
}

/** Returns the kernel's result (whether it ran in bf16) through `guarded`'s error translation. */
template <typename Body>
Napi::Value guardedRun(const Napi::CallbackInfo& info, const char* kernel, Body body) {
  bool ran = false;
  guarded(info, kernel, [&] { ran = body(); });
  return ran ? Ran(info.Env()) : Declined(info.Env());
}

dnnl::convolution_forward::desc forwardDesc(const ConvGeometry& g, bool withBias) {
  const auto prop = dnnl::prop_kind::forward_training;
  const auto algo = dnnl::algorithm::convolution_direct;
  const memory::desc src = asBf16(g.src(), tag::nhwc);
  const memory::desc weights(g.weightDims(), dt::bf16, tag::any);
  if (withBias) return {prop, algo, src, weights, memory::desc({g.oc}, dt::f32, tag::a), g.dst(), g.strides(), g.dilations(), g.padBefore(), g.padAfter()};
  return {prop, algo, src, weights, g.dst(), g.strides(), g.dilations(), g.padBefore(), g.padAfter()};
}

// conv2dBf16(heap, x, filter, bias|-1, out, ...geometry, activation, alpha): conv2d's arguments.
Napi::Value Conv2dBf16(const Napi::CallbackInfo& info) {
  return guardedRun(info, "conv2dBf16", [&] {
    Heap heap(info[0]);
    const ConvForwardCall call = ConvForwardCall::read(info, false);
    const ConvGeometry& g = call.g;
    const bool hasBias = call.hasBias();
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    const std::vector<int64_t> key = call.key();
    static PrimitiveCache<ConvEntry> cache;
    ConvEntry& entry = cache.get(key, [&] {
      dnnl::convolution_forward::primitive_desc pd(forwardDesc(g, hasBias), activationAttr(call.activation, call.alpha), cpuEngine());
      return ConvEntry{dnnl::convolution_forward(pd), accept(pd), Bf16Operand(g.src(), pd.src_desc()), Bf16Operand(g.weights(), pd.weights_desc()), std::nullopt};
    });
    if (!entry.usable) return false;
    Napi::Env env = info.Env();
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, entry.first->convert(heap.floats(env, call.x, g.srcSize(), "conv2dBf16 input"))},
        {DNNL_ARG_WEIGHTS, entry.second->convert(heap.floats(env, call.filter, g.weightsSize(), "conv2dBf16 filter"))},
        {DNNL_ARG_DST, bind(g.dst(), heap.floats(env, call.out, g.dstSize(), "conv2dBf16 output"))},
    };
    if (hasBias) args.emplace(DNNL_ARG_BIAS, bind(memory::desc({g.oc}, dt::f32, tag::a), heap.floats(env, call.bias, g.oc, "conv2dBf16 bias")));
    entry.primitive.execute(cpuStream(), args);
    cpuStream().wait();
    return true;
  });
}

// conv2dBackpropInputBf16(heap, dy, filter, dx, ...geometry)
Napi::Value Conv2dBackpropInputBf16(const Napi::CallbackInfo& info) {
  return guardedRun(info, "conv2dBackpropInputBf16", [&] {
    Heap heap(info[0]);
    const ConvGradientCall call = ConvGradientCall::read(info, false);
    const int64_t dyOff = call.first, wOff = call.second, dxOff = call.out;
    const ConvGeometry& g = call.g;
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    static PrimitiveCache<ConvEntry> cache;
    ConvEntry& entry = cache.get(g.key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(forwardDesc(g, false), cpuEngine());
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src(), memory::desc(g.weightDims(), dt::bf16, tag::any), asBf16(g.dst(), tag::nhwc), g.strides(), g.dilations(), g.padBefore(), g.padAfter());
      dnnl::convolution_backward_data::primitive_desc pd(desc, cpuEngine(), hint);
      return ConvEntry{dnnl::convolution_backward_data(pd), accept(pd), Bf16Operand(g.dst(), pd.diff_dst_desc()), Bf16Operand(g.weights(), pd.weights_desc()), std::nullopt};
    });
    if (!entry.usable) return false;
    Napi::Env env = info.Env();
    entry.primitive.execute(cpuStream(), {
        {DNNL_ARG_DIFF_DST, entry.first->convert(heap.floats(env, dyOff, g.dstSize(), "conv2dBackpropInputBf16 dy"))},
        {DNNL_ARG_WEIGHTS, entry.second->convert(heap.floats(env, wOff, g.weightsSize(), "conv2dBackpropInputBf16 filter"))},
        {DNNL_ARG_DIFF_SRC, bind(g.src(), heap.floats(env, dxOff, g.srcSize(), "conv2dBackpropInputBf16 dx"))},
    });
    cpuStream().wait();
    return true;
  });
}

// conv2dBackpropFilterBf16(heap, x, dy, dw, ...geometry)
Napi::Value Conv2dBackpropFilterBf16(const Napi::CallbackInfo& info) {
  return guardedRun(info, "conv2dBackpropFilterBf16", [&] {
    Heap heap(info[0]);
    const ConvGradientCall call = ConvGradientCall::read(info, false);
    const int64_t xOff = call.first, dyOff = call.second, dwOff = call.out;
    const ConvGeometry& g = call.g;
    ThreadScope threads(g.oh * g.ow >= kBackwardWeightsTeamPixels ? threadsFor(g.flops(), kFlopsPerThread) : 1);
    static PrimitiveCache<ConvEntry> cache;
    ConvEntry& entry = cache.get(g.key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(forwardDesc(g, false), cpuEngine());
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, memory::desc(g.src().dims(), dt::bf16, tag::any), g.preferredWeights(), memory::desc(g.dst().dims(), dt::bf16, tag::any), g.strides(), g.dilations(), g.padBefore(), g.padAfter());
      dnnl::convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint);
      dnnl::primitive primitive = dnnl::convolution_backward_weights(pd);
      return ConvEntry{primitive, accept(pd), Bf16Operand(g.src(), pd.src_desc()), Bf16Operand(g.dst(), pd.diff_dst_desc()), BlockedConvEntry(primitive, g.weights(), pd.diff_weights_desc(), true)};
    });
    if (!entry.usable) return false;
    Napi::Env env = info.Env();
    float* gradient = heap.floats(env, dwOff, g.weightsSize(), "conv2dBackpropFilterBf16 dw");
    memory weights = entry.gradient->weights(g.weights(), gradient);
    entry.primitive.execute(cpuStream(), {
        {DNNL_ARG_SRC, entry.first->convert(heap.floats(env, xOff, g.srcSize(), "conv2dBackpropFilterBf16 x"))},
        {DNNL_ARG_DIFF_DST, entry.second->convert(heap.floats(env, dyOff, g.dstSize(), "conv2dBackpropFilterBf16 dy"))},
        {DNNL_ARG_DIFF_WEIGHTS, weights},
    });
    memory user = bind(g.weights(), gradient);
    if (entry.gradient->reorder) entry.gradient->reorder->execute(cpuStream(), weights, user);
    cpuStream().wait();
    return true;
  });
}

struct MatmulEntry {
  dnnl::matmul primitive;
  bool usable;
  Bf16Operand a, b;
  memory::desc bias, c;
};

// matmulBf16(heap, a, b, bias|-1, out, batchA, batchB, m, n, k, transA, transB, activation, alpha): matmul's arguments.
Napi::Value MatmulBf16(const Napi::CallbackInfo& info) {
  return guardedRun(info, "matmulBf16", [&] {
    Heap heap(info[0]);
    const MatmulCall call = MatmulCall::read(info);
    ThreadScope threads(threadsFor(call.flops(), kFlopsPerThread));
    static PrimitiveCache<MatmulEntry> cache;
    MatmulEntry& entry = cache.get(call.key(), [&] {
      memory::desc a16 = call.aDesc(dt::bf16), b16 = call.bDesc(dt::bf16), c = call.cDesc(), bias = call.biasDesc();
      dnnl::matmul::desc desc = call.hasBias() ? dnnl::matmul::desc(a16, b16, bias, c) : dnnl::matmul::desc(a16, b16, c);
      dnnl::matmul::primitive_desc pd(desc, activationAttr(call.activation, call.alpha), cpuEngine());
      return MatmulEntry{dnnl::matmul(pd), accept(pd), Bf16Operand(call.aDesc(dt::f32), a16), Bf16Operand(call.bDesc(dt::f32), b16), bias, c};
    });
    if (!entry.usable) return false;
    Napi::Env env = info.Env();
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, entry.a.convert(heap.floats(env, call.a, call.batchA * call.m * call.k, "matmulBf16 input a"))},
        {DNNL_ARG_WEIGHTS, entry.b.convert(heap.floats(env, call.b, call.batchB * call.k * call.n, "matmulBf16 input b"))},
        {DNNL_ARG_DST, bind(entry.c, heap.floats(env, call.c, call.batch() * call.m * call.n, "matmulBf16 output"))},
    };
    if (call.hasBias()) args.emplace(DNNL_ARG_BIAS, bind(entry.bias, heap.floats(env, call.bias, call.n, "matmulBf16 bias")));
    entry.primitive.execute(cpuStream(), args);
    cpuStream().wait();
    return true;
  });
}

/**
 * Whether this CPU runs bf16 convolutions with a native instruction set: oneDNN's effective ISA and the
 * implementation it picks for a small bf16 convolution (a reference one means no bf16 support).
 */
Napi::Value Bf16Support(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  std::string implementation;
  try {
    const memory::desc src({1, 16, 8, 8}, dt::bf16, tag::nhwc), dst({1, 16, 8, 8}, dt::f32, tag::nhwc);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, memory::desc({16, 16, 3, 3}, dt::bf16, tag::any), dst, {1, 1}, {1, 1}, {1, 1});
    implementation = dnnl::convolution_forward::primitive_desc(desc, cpuEngine()).impl_info_str();
  } catch (const dnnl::error& e) {
    implementation = std::string("none (") + e.what() + ")";
  }
  out.Set("supported", !isReference(implementation) && implementation.rfind("none", 0) != 0);
  out.Set("implementation", implementation);
  return out;
}

Napi::Value Bf16Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("runs", static_cast<double>(bf16Runs));
  out.Set("declined", static_cast<double>(bf16Declined));
  Napi::Array names = Napi::Array::New(env, bf16Implementations.size());
  for (size_t i = 0; i < bf16Implementations.size(); i++) names.Set(i, bf16Implementations[i]);
  out.Set("implementations", names);
  return out;
}

}  // namespace

void registerBf16Kernels(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dBf16", Napi::Function::New(env, Conv2dBf16));
  exports.Set("conv2dBackpropInputBf16", Napi::Function::New(env, Conv2dBackpropInputBf16));
  exports.Set("conv2dBackpropFilterBf16", Napi::Function::New(env, Conv2dBackpropFilterBf16));
  exports.Set("matmulBf16", Napi::Function::New(env, MatmulBf16));
  exports.Set("bf16Support", Napi::Function::New(env, Bf16Support));
  exports.Set("bf16Stats", Napi::Function::New(env, Bf16Stats));
}

}  // namespace simkit
