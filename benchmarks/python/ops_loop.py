"""The op-loop benchmark in PyTorch: relu(matmul(x, w) + b), optionally followed by torch.autograd.grad of the
output's sum with respect to w and b. Same cases, iteration counts and output format as benchmarks/native/ops_loop.cpp
and the C# loop in benchmarks/Equinox.Benchmarks/OpsLoop.cs.

    /usr/bin/python3 ops_loop.py [--iters N] [--repeats R] [--warmup W] [--warmup-ms MS] [--case NAME]

Warm-up: blocks of W iterations until at least MS milliseconds have passed (as in the other two).

Prints one line per case: `EQX_RESULT <case> <wall us/iter of repeat 1>,<repeat 2>,... <thread-CPU us/iter>,...`.
"""
import argparse
import time

import torch

CASES = [("2x4", 2, 4, False), ("2x4+grad", 2, 4, True), ("16x64", 16, 64, False), ("16x64+grad", 16, 64, True)]


def run_block(x, w, b, grad, iters):
    # Locals, as a user's inner loop would have them; no per-iteration Python work beyond the ops themselves.
    relu, matmul, autograd_grad = torch.relu, torch.matmul, torch.autograd.grad
    cpu_start = time.thread_time()
    start = time.perf_counter()
    if grad:
        for _ in range(iters):
            y = relu(matmul(x, w) + b)
            autograd_grad(y.sum(), (w, b))
    else:
        for _ in range(iters):
            y = relu(matmul(x, w) + b)
    wall = (time.perf_counter() - start) * 1e6 / iters
    return wall, (time.thread_time() - cpu_start) * 1e6 / iters


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--warmup-ms", type=int, default=500)
    parser.add_argument("--case", default="")
    args = parser.parse_args()

    torch.set_num_threads(1)
    print(f"EQX_INFO python torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    torch.manual_seed(0)
    for name, rows, cols, grad in CASES:
        if args.case and args.case != name:
            continue
        x = torch.randn(rows, cols)
        w = torch.randn(cols, cols, requires_grad=grad)
        b = torch.randn(cols, requires_grad=grad)
        warm_start = time.perf_counter()
        while True:
            run_block(x, w, b, grad, args.warmup)
            if time.perf_counter() - warm_start >= args.warmup_ms / 1000:
                break
        times = [run_block(x, w, b, grad, args.iters) for _ in range(args.repeats)]
        print(f"EQX_RESULT {name} " + ",".join(f"{t[0]:.4f}" for t in times) + " " + ",".join(f"{t[1]:.4f}" for t in times),
              flush=True)


if __name__ == "__main__":
    main()
