// Module entry: the kernels, the thread count, and what the engine runs on (for `simkit doctor`).
#include <omp.h>
#include <algorithm>
#include "common.h"

namespace simkit {

namespace {
int configuredThreads = omp_get_max_threads();
}

int engineThreads() { return configuredThreads; }

int threadsFor(double work, double perThread) {
  if (configuredThreads <= 1 || work < perThread) return 1;
  return static_cast<int>(std::min<double>(configuredThreads, work / perThread));
}

ThreadScope::ThreadScope(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
ThreadScope::~ThreadScope() { omp_set_num_threads(saved_); }

namespace {

const char* isaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* version = dnnl_version();
  Napi::Object out = Napi::Object::New(env);
  out.Set("onednn", std::to_string(version->major) + "." + std::to_string(version->minor) + "." + std::to_string(version->patch));
  out.Set("isa", isaName(dnnl::get_effective_cpu_isa()));
  out.Set("threads", engineThreads());
  out.Set("cpuRuntime", version->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : "other");
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t threads = integer(info, 0);
  if (threads < 1 || threads > 1024) throw Napi::RangeError::New(info.Env(), "simkit engine: threads must be between 1 and 1024");
  configuredThreads = static_cast<int>(threads);
  omp_set_num_threads(configuredThreads);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  registerDnnlKernels(env, exports);
  registerPoolKernels(env, exports);
  registerOptimizerKernels(env, exports);
  registerElementwiseKernels(env, exports);
  registerDepthwiseKernels(env, exports);
  registerTrainingKernels(env, exports);
  registerBf16Kernels(env, exports);
  registerInferenceKernels(env, exports);
  return exports;
}

}  // namespace
}  // namespace simkit

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return simkit::Init(env, exports); }

NODE_API_MODULE(simkit_engine, InitModule)
