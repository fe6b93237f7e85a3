"""A Python rank for Equinox's interoperability tests: joins a torch.distributed Gloo group with C# ranks.

Usage: distributed_peer.py RANK WORLD_SIZE ADDRESS PORT
Rank 0 hosts the store (Python's own TCPStore server); other ranks connect to the store the C# rank 0 hosts.
It runs a fixed sequence of collectives that the C# side mirrors and prints one JSON line of what it saw.
"""
import json
import os
import sys
from datetime import timedelta

os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # Gloo's sockets on loopback only, as the C# ranks

import torch
import torch.distributed as dist


def main():
    rank, world, address, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    dist.init_process_group("gloo", init_method=f"tcp://{address}:{port}", rank=rank, world_size=world,
                            timeout=timedelta(seconds=30))
    out = {}
    # 1. all_reduce (sum) of arange(6) * (rank + 1)
    t = torch.arange(6, dtype=torch.float32) * (rank + 1)
    dist.all_reduce(t)
    out["all_reduce"] = t.tolist()
    # 2. broadcast from rank 1 of full(3, 10 * (rank + 1))
    b = torch.full((3,), 10.0 * (rank + 1), dtype=torch.float64)
    dist.broadcast(b, src=1)
    out["broadcast"] = b.tolist()
    # 3. the C# side's tree all-reduce-mean of a 2x3 weight and a 2-element bias, bucketed into one 8-element buffer
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) + 100 * rank
    bias = torch.tensor([1.0, 2.0]) * (rank + 1)
    bucket = torch.cat([w.reshape(-1), bias])
    dist.all_reduce(bucket)
    bucket /= world
    out["tree_mean"] = bucket.tolist()
    # 4. all_gather of [rank, rank + 0.5]
    g = [torch.zeros(2) for _ in range(world)]
    dist.all_gather(g, torch.tensor([float(rank), rank + 0.5]))
    out["all_gather"] = [x.tolist() for x in g]
    # 5. max
    m = torch.tensor([float(rank), -float(rank)])
    dist.all_reduce(m, op=dist.ReduceOp.MAX)
    out["max"] = m.tolist()
    dist.barrier()
    print(json.dumps(out), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
