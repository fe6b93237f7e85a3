"""Exercises a TCPStore server with Python's own client (torch 1.13): prints one JSON line of the results.

Usage: store_client.py ADDRESS PORT
"""
import json
import sys
from datetime import timedelta

import torch.distributed as dist


def main():
    address, port = sys.argv[1], int(sys.argv[2])
    s = dist.TCPStore(address, port, None, False, timedelta(seconds=10))
    out = {}
    s.set("alpha", "one")
    out["get"] = s.get("alpha").decode()
    out["add1"] = s.add("counter", 5)
    out["add2"] = s.add("counter", -2)
    out["counter"] = s.get("counter").decode()
    s.wait(["alpha"])
    out["cas_swap"] = s.compare_set("alpha", "one", "two").decode()
    out["cas_keep"] = s.compare_set("alpha", "one", "three").decode()
    out["num_keys"] = s.num_keys()
    out["delete"] = s.delete_key("alpha")
    out["delete_again"] = s.delete_key("alpha")
    try:
        s.wait(["never"], timedelta(milliseconds=300))
        out["wait_timeout"] = "returned"
    except Exception as e:  # noqa: BLE001 - the message is what the test reads
        out["wait_timeout"] = type(e).__name__
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
