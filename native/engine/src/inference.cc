// Inference: a convolution whose output is added to another tensor (a residual block's shortcut)
// before the activation, y = act(conv(x, w) + bias + addend), in one pass of oneDNN's convolution:
// the addend is copied into the output and the convolution accumulates onto it (a sum post-op),
// then applies the activation (an eltwise post-op). tfjs runs the three as separate kernels.
#include <cstring>
#include "convolution.h"

namespace simkit {
namespace {

dnnl::primitive_attr sumThenActivation(int64_t code, float alpha) {
  dnnl::post_ops ops;
  ops.append_sum(1.f);
  // get_post_ops may return a view into the attribute, so the attribute has to outlive it.
  const dnnl::primitive_attr activationOnly = activationAttr(code, alpha);
  const dnnl::post_ops activation = activationOnly.get_post_ops();
  for (int i = 0; i < activation.len(); i++) {
    dnnl::algorithm algorithm;
    float scale, a, b;
    activation.get_params_eltwise(i, scale, algorithm, a, b);
    ops.append_eltwise(scale, algorithm, a, b);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// conv2dAdd(heap, x, filter, bias|-1, addend, out, ...geometry, activation, alpha)
Napi::Value Conv2dAdd(const Napi::CallbackInfo& info) {
  return guarded(info, "conv2dAdd", [&] {
    Heap heap(info[0]);
    const int64_t xOff = integer(info, 1), wOff = integer(info, 2), biasOff = integer(info, 3), addOff = integer(info, 4), yOff = integer(info, 5);
    const ConvGeometry g = ConvGeometry::read(info, 6, false);
    const int64_t act = integer(info, 23);
    const float alpha = real(info, 24);
    const bool hasBias = biasOff >= 0;
    ThreadScope threads(threadsFor(g.flops(), kFlopsPerThread));
    std::vector<int64_t> key = g.key();
    key.insert(key.end(), {hasBias, act, static_cast<int64_t>(alpha * 1e6)});
    static PrimitiveCache<BlockedConvEntry> cache;
    BlockedConvEntry& entry = cache.get(key, [&] {
      dnnl::convolution_forward::primitive_desc pd(g.forward(hasBias), sumThenActivation(act, alpha), cpuEngine());
      return BlockedConvEntry(dnnl::convolution_forward(pd), g.weights(), pd.weights_desc(), false);
    });
    Napi::Env env = info.Env();
    float* filter = heap.floats(env, wOff, g.weightsSize(), "conv2dAdd filter");
    const float* addend = heap.floats(env, addOff, g.dstSize(), "conv2dAdd addend");
    float* y = heap.floats(env, yOff, g.dstSize(), "conv2dAdd output");
    const int64_t total = g.dstSize();
    const int64_t block = 1 << 16;
#pragma omp parallel for schedule(static)
    for (int64_t start = 0; start < total; start += block) std::memcpy(y + start, addend + start, sizeof(float) * std::min(block, total - start));
    memory weights = entry.weights(g.weights(), filter);
    memory user = bind(g.weights(), filter);
    if (entry.reorder) entry.reorder->execute(cpuStream(), user, weights);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, bind(g.src(), heap.floats(env, xOff, g.srcSize(), "conv2dAdd input"))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, bind(g.dst(), y)},
    };
    if (hasBias) args.emplace(DNNL_ARG_BIAS, bind(memory::desc({g.oc}, dt::f32, tag::a), heap.floats(env, biasOff, g.oc, "conv2dAdd bias")));
    entry.primitive.execute(cpuStream(), args);
    cpuStream().wait();
  });
}

}  // namespace

void registerInferenceKernels(Napi::Env env, Napi::Object exports) { exports.Set("conv2dAdd", Napi::Function::New(env, Conv2dAdd)); }

}  // namespace simkit
