// bf16 vs f32 oneDNN convolutions on the bench ResNet's layer shapes (bench/networks.ts: ResNet-18 layout at
// widths 32-64-128-256, 64x64 input, batch 64), in the layouts native/engine/src/bf16.cc uses; the bf16 times include
// converting the f32 tensors to bf16. Times are the thread's CPU time (min of 8), so that a loaded machine does not
// distort them; run on one thread:
//   g++ -O2 native/engine/bench/bf16-convolutions.cc -o /tmp/bf16-convolutions -ldnnl -fopenmp
//   OMP_NUM_THREADS=1 /tmp/bf16-convolutions
// "x1.70" on a total: bf16 takes 1/1.70 of f32's time.
#include <oneapi/dnnl/dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
using namespace dnnl; using tag = memory::format_tag; using dt = memory::data_type;
struct S { int n,h,c,oc,k,s,mult; };
engine eng(engine::kind::cpu,0); stream st(eng);
#include <time.h>
double now(){timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t); return t.tv_sec+t.tv_nsec*1e-9;}
template<class F> double timeit(F f,int reps){ f(); double best=1e9; for(int i=0;i<reps;i++){double t=now(); f(); double d=now()-t; if(d<best)best=d;} return best*1e3; }
void fill(memory& m){ float* d=(float*)m.get_data_handle(); size_t n=m.get_desc().get_size()/4; for(size_t i=0;i<n;i++) d[i]=((i*2654435761u)%1000)/1000.f-0.5f; }
struct R{double f,d,w;};
R run(const S& s, dt lo, tag act, int reps, bool print){
  int p=(s.k-1)/2, o=(s.h+2*p-s.k)/s.s+1;
  memory::dims src{s.n,s.c,s.h,s.h}, wei{s.oc,s.c,s.k,s.k}, dst{s.n,s.oc,o,o}, str{s.s,s.s}, pad{p,p};
  auto srcf=memory::desc(src,dt::f32,tag::nhwc), dstf=memory::desc(dst,dt::f32,tag::nhwc);
  auto srcl=memory::desc(src,lo,tag::nhwc), dstl=memory::desc(dst,lo,tag::nhwc), srcw=memory::desc(src,lo,act), dstw=memory::desc(dst,lo,act);
  convolution_forward::primitive_desc fpd({prop_kind::forward_training, algorithm::convolution_direct, srcl, memory::desc(wei,lo,tag::any), dstf, str, pad, pad}, eng);
  convolution_backward_data::primitive_desc bpd({algorithm::convolution_direct, srcf, memory::desc(wei,lo,tag::any), dstl, str, pad, pad}, eng, fpd);
  convolution_backward_weights::primitive_desc wpd({algorithm::convolution_direct, srcw, memory::desc(wei,dt::f32,tag::any), dstw, str, pad, pad}, eng, fpd);
  memory xf(srcf,eng), dyf(dstf,eng), y(dstf,eng), dx(srcf,eng);
  fill(xf); fill(dyf);
  memory xs(fpd.src_desc(),eng), xw(wpd.src_desc(),eng), dyb(bpd.diff_dst_desc(),eng), dyw(wpd.diff_dst_desc(),eng);
  memory w(fpd.weights_desc(),eng), wb(bpd.weights_desc(),eng), dw(wpd.diff_weights_desc(),eng);
  memset(w.get_data_handle(),0,w.get_desc().get_size()); memset(wb.get_data_handle(),0,wb.get_desc().get_size());
  bool conv = lo==dt::bf16;
  reorder r1(xf,xs), r2(dyf,dyb), r3(xf,xw), r4(dyf,dyw);
  auto cf=convolution_forward(fpd); auto cb=convolution_backward_data(bpd); auto cw=convolution_backward_weights(wpd);
  if(!conv){ xs=xf; dyb=dyf; xw=xf; dyw=dyf; }
  R r;
  r.f=timeit([&]{ if(conv) r1.execute(st,xf,xs); cf.execute(st,{{DNNL_ARG_SRC,xs},{DNNL_ARG_WEIGHTS,w},{DNNL_ARG_DST,y}}); st.wait();},reps);
  r.d=timeit([&]{ if(conv) r2.execute(st,dyf,dyb); cb.execute(st,{{DNNL_ARG_DIFF_DST,dyb},{DNNL_ARG_WEIGHTS,wb},{DNNL_ARG_DIFF_SRC,dx}}); st.wait();},reps);
  r.w=timeit([&]{ if(conv){ r3.execute(st,xf,xw); r4.execute(st,dyf,dyw);} cw.execute(st,{{DNNL_ARG_SRC,xw},{DNNL_ARG_DIFF_DST,dyw},{DNNL_ARG_DIFF_WEIGHTS,dw}}); st.wait();},reps);
  if(print) printf("   %s | %s | %s\n", fpd.impl_info_str(), bpd.impl_info_str(), wpd.impl_info_str());
  return r;
}
int main(){
  tag act = tag::any;
  S shapes[]={{64,64,3,32,7,2,1},{64,16,32,32,3,1,4},{64,16,32,64,3,2,1},{64,16,32,64,1,2,1},{64,8,64,64,3,1,3},{64,8,64,128,3,2,1},{64,8,64,128,1,2,1},{64,4,128,128,3,1,3},{64,4,128,256,3,2,1},{64,4,128,256,1,2,1},{64,2,256,256,3,1,3}};
  { const int round=0; double F[3]={0,0,0},B[3]={0,0,0};
    printf("ms, thread CPU time, min of 8: f32 / bf16 incl. conversions\n");
    for(auto& s: shapes){
      R a=run(s,dt::f32,tag::nhwc,8,false), b=run(s,dt::bf16,act,8,round==0);
      printf("%2dx%-2d %3d->%3d k%d s%d x%d: fwd %6.2f/%6.2f  bwd-data %6.2f/%6.2f  bwd-weights %6.2f/%6.2f\n",s.h,s.h,s.c,s.oc,s.k,s.s,s.mult,a.f,b.f,a.d,b.d,a.w,b.w);
      F[0]+=s.mult*a.f;F[1]+=s.mult*a.d;F[2]+=s.mult*a.w;B[0]+=s.mult*b.f;B[1]+=s.mult*b.d;B[2]+=s.mult*b.w;
    }
    printf("one step's convolutions: fwd %.1f/%.1f (x%.2f) bwd-data %.1f/%.1f (x%.2f) bwd-weights %.1f/%.1f (x%.2f) total %.1f/%.1f (x%.2f)\n",
      F[0],B[0],F[0]/B[0],F[1],B[1],F[1]/B[1],F[2],B[2],F[2]/B[2],F[0]+F[1]+F[2],B[0]+B[1]+B[2],(F[0]+F[1]+F[2])/(B[0]+B[1]+B[2]));
  }
}
