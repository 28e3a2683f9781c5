// Shared by the kernels: tensors live in one ArrayBuffer (TensorFlow.js's wasm heap) and are
// passed as byte offsets; every access is bounds-checked so a bad call throws instead of crashing.
#pragma once
#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace simkit {

class Heap {
 public:
  explicit Heap(const Napi::Value& value) {
    if (!value.IsArrayBuffer()) throw Napi::TypeError::New(value.Env(), "simkit engine: the first argument must be the tensor heap (an ArrayBuffer)");
    auto buffer = value.As<Napi::ArrayBuffer>();
    base_ = static_cast<uint8_t*>(buffer.Data());
    size_ = buffer.ByteLength();
  }
  float* floats(Napi::Env env, int64_t offset, int64_t count, const char* what) const {
    if (offset < 0 || count < 0 || offset % 4 != 0 || static_cast<uint64_t>(offset + count * 4) > size_) {
      throw Napi::RangeError::New(env, std::string("simkit engine: ") + what + " lies outside the tensor heap");
    }
    return reinterpret_cast<float*>(base_ + offset);
  }

 private:
  uint8_t* base_;
  size_t size_;
};

/** Reads argument `i` as an integer (every argument after the heap is a number). */
inline int64_t integer(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "simkit engine: argument " + std::to_string(i) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

inline float real(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "simkit engine: argument " + std::to_string(i) + " must be a number");
  }
  return info[i].As<Napi::Number>().FloatValue();
}

/** Threads the engine may use (setThreads); every call uses either these or one. */
int engineThreads();

/**
 * Threads for `work` (floating-point operations or elements touched): small work runs on one
 * thread, because waking a team costs more than it saves and, on a busy machine, a team waits for
 * its slowest member's time slice.
 */
int threadsFor(double work, double perThread);

/** Sets OpenMP's thread count for a scope (primitive creation and execution alike), then restores it. */
class ThreadScope {
 public:
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

/** Activation fused after a matmul or convolution: the codes core/engine/native uses. */
enum class Activation { Linear = 0, Relu = 1, Relu6 = 2, LeakyRelu = 3, Sigmoid = 4, Elu = 5 };
dnnl::primitive_attr activationAttr(int64_t code, float alpha);

/** Runs `body`, turning oneDNN and C++ errors into JavaScript exceptions that name the kernel. */
template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* kernel, Body body) {
  try {
    body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("simkit engine: ") + kernel + " failed in oneDNN (status " + std::to_string(static_cast<int>(e.status)) + "): " + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("simkit engine: ") + kernel + " failed: " + e.what());
  }
  return info.Env().Undefined();
}

void registerDnnlKernels(Napi::Env env, Napi::Object exports);
void registerPoolKernels(Napi::Env env, Napi::Object exports);
void registerOptimizerKernels(Napi::Env env, Napi::Object exports);
void registerElementwiseKernels(Napi::Env env, Napi::Object exports);
void registerDepthwiseKernels(Napi::Env env, Napi::Object exports);
void registerTrainingKernels(Napi::Env env, Napi::Object exports);
void registerBf16Kernels(Napi::Env env, Napi::Object exports);
void registerInferenceKernels(Napi::Env env, Napi::Object exports);

}  // namespace simkit
