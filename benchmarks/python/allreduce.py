"""The all-reduce half of the `distributed` benchmark in PyTorch: one rank of a 2-process torch.distributed Gloo group
timing dist.all_reduce (in place, sum) of 1, 16 and 64 MiB float32 tensors, one intra-op thread, sockets on loopback.

    MASTER_ADDR=127.0.0.1 MASTER_PORT=P RANK=r WORLD_SIZE=2 /usr/bin/python3 allreduce.py --sizes 1,16,64 --iters N

Rank 0 prints `EQX_RESULT allreduce-<size>MiB <ms per all-reduce, one per timed block>`, the same format as the C#
worker (`distributed-worker allreduce`).
"""
import argparse
import os
import time

os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")

import torch
import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,16,64")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    for mib in [int(s) for s in args.sizes.split(",")]:
        t = torch.ones(mib * 262144, dtype=torch.float32)
        for _ in range(2):
            dist.all_reduce(t)
        blocks = []
        for _ in range(args.repeats):
            dist.barrier()
            start = time.perf_counter()
            for _ in range(args.iters):
                dist.all_reduce(t)
            blocks.append((time.perf_counter() - start) * 1000 / args.iters)
        if dist.get_rank() == 0:
            print(f"EQX_RESULT allreduce-{mib}MiB " + ",".join(f"{b:.3f}" for b in blocks), flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
