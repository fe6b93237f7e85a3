// The op-loop benchmark in raw LibTorch C++: relu(matmul(x, w) + b), optionally followed by autograd::grad of the
// output's sum with respect to w and b. Same cases, iteration counts and output format as benchmarks/python/ops_loop.py
// and the C# loop in benchmarks/Equinox.Benchmarks/OpsLoop.cs.
//
//   ops_loop [--iters N] [--repeats R] [--warmup W] [--warmup-ms MS] [--case NAME]
//
// Warm-up: blocks of W iterations until at least MS milliseconds have passed (the C# side needs that long for the JIT
// to finish optimising its loop; all three do the same).
//
// Prints one line per case: `EQX_RESULT <case> <wall µs/iter of repeat 1>,<repeat 2>,... <thread-CPU µs/iter>,...`.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Case {
  std::string name;
  int64_t rows, cols;
  bool grad;
};

double thread_cpu_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

struct Timing {
  double wall, cpu;  // µs per iteration
};

// One timed block of `iters` iterations.
Timing run_block(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, bool grad, int64_t iters) {
  double cpu_start = thread_cpu_us();
  auto start = std::chrono::steady_clock::now();
  if (grad) {
    for (int64_t i = 0; i < iters; i++) {
      auto y = at::relu(at::matmul(x, w) + b);
      auto grads = torch::autograd::grad({y.sum()}, {w, b});
    }
  } else {
    for (int64_t i = 0; i < iters; i++) {
      auto y = at::relu(at::matmul(x, w) + b);
    }
  }
  auto elapsed = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return {elapsed / (double)iters, (thread_cpu_us() - cpu_start) / (double)iters};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t iters = 20000, repeats = 7, warmup = 2000, warmup_ms = 500;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iters")) iters = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup")) warmup = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup-ms")) warmup_ms = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--case")) only = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }

  at::set_num_threads(1);
  std::printf("EQX_INFO cpp torch=%s threads=%d\n", TORCH_VERSION, at::get_num_threads());

  const std::vector<Case> cases = {
      {"2x4", 2, 4, false}, {"2x4+grad", 2, 4, true}, {"16x64", 16, 64, false}, {"16x64+grad", 16, 64, true}};
  at::manual_seed(0);
  for (const auto& c : cases) {
    if (!only.empty() && only != c.name) continue;
    auto x = at::randn({c.rows, c.cols});
    auto w = at::randn({c.cols, c.cols});
    auto b = at::randn({c.cols});
    if (c.grad) {
      w.set_requires_grad(true);
      b.set_requires_grad(true);
    }
    auto warm_start = std::chrono::steady_clock::now();
    do {
      run_block(x, w, b, c.grad, warmup);
    } while (std::chrono::steady_clock::now() - warm_start < std::chrono::milliseconds(warmup_ms));
    std::vector<Timing> times;
    for (int64_t r = 0; r < repeats; r++) times.push_back(run_block(x, w, b, c.grad, iters));
    std::printf("EQX_RESULT %s ", c.name.c_str());
    for (size_t r = 0; r < times.size(); r++) std::printf(r ? ",%.4f" : "%.4f", times[r].wall);
    std::printf(" ");
    for (size_t r = 0; r < times.size(); r++) std::printf(r ? ",%.4f" : "%.4f", times[r].cpu);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
