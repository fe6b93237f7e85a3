// The training-step benchmark in LibTorch C++, written in LibTorch's own idiom: torch::nn::Sequential of Linear and
// ReLU modules for the MLPs, a module of Conv2d / MaxPool2d / Linear for `cnn`, a torch::nn::GRUCell stepped in a plain
// loop over time then a Linear for `gru`; torch::optim::SGD or torch::optim::Adam, then zero_grad / forward / loss / backward / step per iteration. Same models, data,
// step counts and output format as benchmarks/python/step_loop.py and the C# steps in
// benchmarks/Equinox.Benchmarks/StepLoop.cs.
//
//   step_loop --data DIR [--model small,wide,deep,cnn,gru] [--steps N,N,N] [--optimizer sgd|adam] [--repeats R]
//             [--warmup-ms MS] [--threads T]
//
// DIR holds <model>.bin, written by the C# benchmark (StepData.cs): the initial parameters in the order of the
// module's parameters() (each Linear's weight [out, in] and bias; for cnn each Conv2d's weight and bias, then the
// Linear's; for gru weight_ih, weight_hh, bias_ih, bias_hh, then the Linear's), then the inputs x (time-major
// [T, N, 8] for gru) and the targets y. --steps gives the steps per repeat of each model, in order. Each model: 100 steps from the initial weights, then the loss of
// the model they leave (printed, so the driver can check the four implementations agree); more steps until at least
// MS ms have passed; then R timed blocks of N steps.
//
// Prints `EQX_RESULT <model> <wall µs/step per repeat> <thread-CPU µs/step per repeat> <minor faults/step per repeat>
// <loss after 100 steps>` and `EQX_BLAS <the libblas file this process mapped>`.
#include <torch/torch.h>
#include <torch/version.h>

#include <sys/resource.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

double thread_cpu_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

long thread_minor_faults() {
  rusage usage;
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// <model>.bin: "EQXSTEP1", int32 count, then per tensor int32 dtype (0 f32, 1 i64), int32 rank, int64 dims, data.
std::vector<torch::Tensor> read_tensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[8];
  in.read(magic, 8);
  if (std::string(magic, 8) != "EQXSTEP1") throw std::runtime_error(path + " is not a step-benchmark data file");
  int32_t count;
  in.read(reinterpret_cast<char*>(&count), 4);
  std::vector<torch::Tensor> tensors;
  for (int32_t i = 0; i < count; i++) {
    int32_t dtype, rank;
    in.read(reinterpret_cast<char*>(&dtype), 4);
    in.read(reinterpret_cast<char*>(&rank), 4);
    std::vector<int64_t> shape(rank);
    in.read(reinterpret_cast<char*>(shape.data()), 8 * rank);
    auto t = torch::empty(shape, dtype == 0 ? torch::kFloat32 : torch::kInt64);
    in.read(reinterpret_cast<char*>(t.data_ptr()), (std::streamsize)t.nbytes());
    tensors.push_back(t);
  }
  if (!in) throw std::runtime_error(path + " is truncated");
  return tensors;
}

// The libblas.so.3 (and libopenblas) files mapped, resolved, joined by ';'.
std::string mapped_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("libblas.so") == std::string::npos && path.find("libopenblas") == std::string::npos) continue;
    char resolved[PATH_MAX];
    std::string real = realpath(path.c_str(), resolved) ? std::string(resolved) : path;
    if ((";" + found + ";").find(";" + real + ";") == std::string::npos) found += (found.empty() ? "" : ";") + real;
  }
  return found.empty() ? "none" : found;
}

struct Timing {
  double wall, cpu, faults;  // per step
};

// `cnn`: two 3x3 convolutions with ReLU and 2x2 max pooling, then a Linear on the flattened [N, 16*2*2].
struct CnnImpl : torch::nn::Module {
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::MaxPool2d pool1{nullptr}, pool2{nullptr};
  torch::nn::Linear fc{nullptr};

  CnnImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).padding(1)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).padding(1)))),
        pool1(register_module("pool1", torch::nn::MaxPool2d(2))),
        pool2(register_module("pool2", torch::nn::MaxPool2d(2))),
        fc(register_module("fc", torch::nn::Linear(16 * 2 * 2, 10))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = pool1(torch::relu(conv1(x)));
    x = pool2(torch::relu(conv2(x)));
    return fc(torch::flatten(x, 1));
  }
};
TORCH_MODULE(Cnn);

// `gru`: a GRUCell over the time steps of x [T, N, in] from a zero hidden state, then a Linear on the last one.
struct GruImpl : torch::nn::Module {
  torch::nn::GRUCell cell{nullptr};
  torch::nn::Linear fc{nullptr};

  int64_t hidden;

  GruImpl(int64_t input, int64_t hidden)
      : cell(register_module("cell", torch::nn::GRUCell(input, hidden))),
        fc(register_module("fc", torch::nn::Linear(hidden, 1))),
        hidden(hidden) {}

  torch::Tensor forward(const torch::Tensor& xs) {
    auto h = torch::zeros({xs.size(1), hidden});
    for (int64_t t = 0; t < xs.size(0); t++) h = cell(xs[t], h);
    return fc(h);
  }
};
TORCH_MODULE(Gru);

}  // namespace

int main(int argc, char** argv) {
  int64_t repeats = 5, warmup_ms = 1000, threads = 1;
  std::string data, models = "small,wide", steps_list = "2000,200", optimizer_name = "sgd";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
    else if (!std::strcmp(argv[i], "--model")) models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps_list = argv[i + 1];
    else if (!std::strcmp(argv[i], "--optimizer")) optimizer_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup-ms")) warmup_ms = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (data.empty()) {
    std::fprintf(stderr, "--data DIR is required\n");
    return 2;
  }

  at::set_num_threads((int)threads);
  std::printf("EQX_INFO cpp torch=%s threads=%d\n", TORCH_VERSION, at::get_num_threads());

  if (optimizer_name != "sgd" && optimizer_name != "adam") {
    std::fprintf(stderr, "--optimizer takes sgd or adam, not %s\n", optimizer_name.c_str());
    return 2;
  }
  std::stringstream list(models), steps_of(steps_list);
  std::string name, steps_text;
  while (std::getline(list, name, ',')) {
    if (!std::getline(steps_of, steps_text, ',')) {
      std::fprintf(stderr, "--steps needs one count per model\n");
      return 2;
    }
    const bool cross_entropy = name == "wide" || name == "cnn";
    const int64_t steps = std::atoll(steps_text.c_str());
    auto tensors = read_tensors(data + "/" + name + ".bin");
    const size_t n_params = tensors.size() - 2;
    const auto x = tensors[n_params], y = tensors[n_params + 1];

    // The module, and its forward as a function (Sequential, Cnn and Gru share no forward signature to call through).
    std::shared_ptr<torch::nn::Module> model;
    std::function<torch::Tensor(const torch::Tensor&)> forward;
    if (name == "cnn") {
      Cnn cnn;
      model = cnn.ptr();
      forward = [cnn](const torch::Tensor& in) mutable { return cnn->forward(in); };
    } else if (name == "gru") {
      Gru gru(tensors[0].size(1), tensors[1].size(1));
      model = gru.ptr();
      forward = [gru](const torch::Tensor& in) mutable { return gru->forward(in); };
    } else {
      torch::nn::Sequential mlp;
      for (size_t p = 0; p < n_params; p += 2) {
        if (p > 0) mlp->push_back(torch::nn::ReLU());
        mlp->push_back(torch::nn::Linear(tensors[p].size(1), tensors[p].size(0)));
      }
      model = mlp.ptr();
      forward = [mlp](const torch::Tensor& in) mutable { return mlp->forward(in); };
    }
    {
      torch::NoGradGuard no_grad;
      auto parameters = model->parameters();  // in registration order, which the data file follows
      if (parameters.size() != n_params) throw std::runtime_error(name + ": the data file has the wrong parameter count");
      for (size_t p = 0; p < parameters.size(); p++) {
        if (!parameters[p].sizes().equals(tensors[p].sizes())) throw std::runtime_error(name + ": parameter shapes differ");
        parameters[p].copy_(tensors[p]);
      }
    }
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (optimizer_name == "adam")
      optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    else
      optimizer = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01));

    auto loss_of = [&](const torch::Tensor& out) {
      return cross_entropy ? torch::nn::functional::cross_entropy(out, y) : torch::mse_loss(out, y);
    };
    auto step = [&]() {
      optimizer->zero_grad();
      auto loss = loss_of(forward(x));
      loss.backward();
      optimizer->step();
    };

    for (int i = 0; i < 100; i++) step();
    double loss100;
    {
      torch::NoGradGuard no_grad;
      loss100 = loss_of(forward(x)).item<double>();
    }
    auto warm_start = std::chrono::steady_clock::now();
    do step();
    while (std::chrono::steady_clock::now() - warm_start < std::chrono::milliseconds(warmup_ms));

    // EQX_PHASES=1: a separate pass that times zero_grad, forward (with the loss), backward and the optimiser's step,
    // to set beside the C# steps' phase breakdown.
    if (const char* phases = std::getenv("EQX_PHASES"); phases && *phases == '1') {
      double sums[4] = {0, 0, 0, 0};
      using clock = std::chrono::steady_clock;
      for (int64_t i = 0; i < steps; i++) {
        auto t0 = clock::now();
        optimizer->zero_grad();
        auto t1 = clock::now();
        auto loss = loss_of(forward(x));
        auto t2 = clock::now();
        loss.backward();
        auto t3 = clock::now();
        optimizer->step();
        auto t4 = clock::now();
        const clock::time_point edges[5] = {t0, t1, t2, t3, t4};
        for (int k = 0; k < 4; k++) sums[k] += std::chrono::duration<double, std::micro>(edges[k + 1] - edges[k]).count();
      }
      std::printf("EQX_PHASES %s zero_grad=%.1f forward=%.1f backward=%.1f step=%.1f\n", name.c_str(), sums[0] / steps,
                  sums[1] / steps, sums[2] / steps, sums[3] / steps);
    }

    std::vector<Timing> times;
    for (int64_t r = 0; r < repeats; r++) {
      long faults_start = thread_minor_faults();
      double cpu_start = thread_cpu_us();
      auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < steps; i++) step();
      auto wall = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      times.push_back({wall / (double)steps, (thread_cpu_us() - cpu_start) / (double)steps,
                       (double)(thread_minor_faults() - faults_start) / (double)steps});
    }
    std::printf("EQX_RESULT %s ", name.c_str());
    for (size_t r = 0; r < times.size(); r++) std::printf(r ? ",%.4f" : "%.4f", times[r].wall);
    std::printf(" ");
    for (size_t r = 0; r < times.size(); r++) std::printf(r ? ",%.4f" : "%.4f", times[r].cpu);
    std::printf(" ");
    for (size_t r = 0; r < times.size(); r++) std::printf(r ? ",%.4f" : "%.4f", times[r].faults);
    std::printf(" %.9g\n", loss100);
    std::fflush(stdout);
  }
  std::printf("EQX_BLAS %s\n", mapped_blas().c_str());
  return 0;
}
