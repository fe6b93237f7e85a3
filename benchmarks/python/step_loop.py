"""The training-step benchmark in PyTorch eager, in PyTorch's own idiom: nn.Sequential of nn.Linear and nn.ReLU for
the MLPs, an nn.Module of nn.Conv2d / nn.MaxPool2d / nn.Linear for `cnn`, an nn.GRUCell stepped in a plain loop over
time then an nn.Linear for `gru`; torch.optim.SGD or torch.optim.Adam (with --foreach, Adam's multi-tensor path), then zero_grad / forward / loss / backward / step per iteration. Same models, data, step counts and
output format as benchmarks/native/step_loop.cpp and the C# steps in benchmarks/Equinox.Benchmarks/StepLoop.cs.

    /usr/bin/python3 step_loop.py --data DIR [--model small,wide,deep,cnn,gru] [--steps N,N,N] [--optimizer sgd|adam]
                                  [--foreach] [--repeats R] [--warmup-ms MS] [--threads T]

DIR holds <model>.bin, written by the C# benchmark (StepData.cs): the initial parameters in the order of the module's
parameters() (each Linear's weight [out, in] and bias; for cnn each Conv2d's weight and bias, then the Linear's; for
gru weight_ih, weight_hh, bias_ih, bias_hh, then the Linear's), then the inputs x (time-major [T, N, 8] for gru) and
the targets y. Each model: 100 steps from the initial weights, then the loss of
the model they leave; more steps until at least MS ms have passed; then R timed blocks of N steps.

Prints `EQX_RESULT <model> <wall us/step per repeat> <thread-CPU us/step per repeat> <minor faults/step per repeat>
<loss after 100 steps>` and `EQX_BLAS <the libblas file this process mapped>`.
"""
import argparse
import os
import resource
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_tensors(path):
    # "EQXSTEP1", int32 count, then per tensor int32 dtype (0 f32, 1 i64), int32 rank, int64 dims, data.
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"EQXSTEP1":
        raise ValueError(f"{path} is not a step-benchmark data file")
    (count,) = struct.unpack_from("<i", blob, 8)
    offset, tensors = 12, []
    for _ in range(count):
        dtype, rank = struct.unpack_from("<ii", blob, offset)
        offset += 8
        shape = struct.unpack_from(f"<{rank}q", blob, offset)
        offset += 8 * rank
        np_dtype = np.float32 if dtype == 0 else np.int64
        n = int(np.prod(shape)) if rank else 1
        array = np.frombuffer(blob, dtype=np_dtype, count=n, offset=offset).reshape(shape)
        offset += n * array.itemsize
        tensors.append(torch.from_numpy(array.copy()))
    return tensors


def mapped_blas():
    """The libblas.so.3 (and libopenblas) files mapped, resolved, joined by ';'."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            slash = line.find("/")
            path = line[slash:].strip() if slash >= 0 else ""
            if ("libblas.so" in path or "libopenblas" in path) and os.path.realpath(path) not in found:
                found.append(os.path.realpath(path))
    return ";".join(found) or "none"


def minor_faults():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


class Cnn(torch.nn.Module):
    """`cnn`: two 3x3 convolutions with ReLU and 2x2 max pooling, then a Linear on the flattened [N, 16*2*2]."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class Gru(torch.nn.Module):
    """`gru`: a GRUCell over the time steps of x [T, N, in] from a zero hidden state, then a Linear on the last one."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = torch.nn.GRUCell(input_size, hidden_size)
        self.fc = torch.nn.Linear(hidden_size, 1)

    def forward(self, xs):
        h = torch.zeros(xs.shape[1], self.cell.hidden_size)
        for t in range(xs.shape[0]):
            h = self.cell(xs[t], h)
        return self.fc(h)


def run_model(name, data, steps, repeats, warmup_ms, optimizer_name, foreach):
    tensors = read_tensors(os.path.join(data, f"{name}.bin"))
    params, (x, y) = tensors[:-2], tensors[-2:]
    if name == "cnn":
        model = Cnn()
    elif name == "gru":
        model = Gru(params[0].shape[1], params[1].shape[1])
    else:
        modules = []
        for w in params[0::2]:
            if modules:
                modules.append(torch.nn.ReLU())
            modules.append(torch.nn.Linear(w.shape[1], w.shape[0]))
        model = torch.nn.Sequential(*modules)
    parameters = list(model.parameters())  # in registration order, which the data file follows
    if [p.shape for p in parameters] != [t.shape for t in params]:
        raise ValueError(f"{name}: the data file's parameters do not match the model's")
    with torch.no_grad():
        for p, t in zip(parameters, params):
            p.copy_(t)
    if optimizer_name == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = F.cross_entropy if name in ("wide", "cnn") else F.mse_loss

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(100):
        step()
    with torch.no_grad():
        loss100 = loss_fn(model(x), y).item()
    warm_start = time.perf_counter()
    while True:
        step()
        if time.perf_counter() - warm_start >= warmup_ms / 1000:
            break
    times = []
    for _ in range(repeats):
        faults_start = minor_faults()
        cpu_start = time.thread_time()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) * 1e6 / steps
        cpu = (time.thread_time() - cpu_start) * 1e6 / steps
        times.append((wall, cpu, (minor_faults() - faults_start) / steps))
    print(f"EQX_RESULT {name} " + " ".join(",".join(f"{t[i]:.4f}" for t in times) for i in range(3)) + f" {loss100:.9g}",
          flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="small,wide")
    parser.add_argument("--steps", default="2000,200")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--foreach", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-ms", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print(f"EQX_INFO python torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    names, steps = args.model.split(","), [int(n) for n in args.steps.split(",")]
    if len(steps) != len(names):
        parser.error("--steps needs one count per model")
    for name, n in zip(names, steps):
        run_model(name, args.data, n, args.repeats, args.warmup_ms, args.optimizer, args.foreach)
    print(f"EQX_BLAS {mapped_blas()}", flush=True)


if __name__ == "__main__":
    main()
