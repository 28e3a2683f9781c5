// Depthwise convolution (forward with bias and activation, gradients of input and filter) as
// oneDNN's grouped convolution, one group per input channel, any channel multiplier. The geometry
// and the kernels are the dense convolution's (convolution.h), with the grouped weights.
#include "convolution.h"

namespace simkit {

void registerDepthwiseKernels(Napi::Env env, Napi::Object exports) {
  // depthwiseConv2d(heap, x, filter, bias|-1, out, ...geometry, activation, alpha)
  exports.Set("depthwiseConv2d", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionForward(info, "depthwiseConv2d", true); }));
  // depthwiseConv2dBackpropInput(heap, dy, filter, dx, ...geometry)
  exports.Set("depthwiseConv2dBackpropInput", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionBackwardData(info, "depthwiseConv2dBackpropInput", true); }));
  // depthwiseConv2dBackpropFilter(heap, x, dy, dw, ...geometry)
  exports.Set("depthwiseConv2dBackpropFilter", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return convolutionBackwardWeights(info, "depthwiseConv2dBackpropFilter", true); }));
}

}  // namespace simkit
