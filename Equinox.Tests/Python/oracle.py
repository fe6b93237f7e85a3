"""PyTorch oracle for Equinox's tests: one JSON request per line on stdin, one JSON response per line on stdout.

Request:  {"code": "...", "inputs": {"a": {"values": [...], "shape": [...], "dtype": "float32",
           "requires_grad": true}}, "grad": null | {"output": 0, "seed": null | {tensor}}}
Response: {"outputs": [{tensor} | null, ...], "grads": {"a": {tensor} | null}} or {"error": "traceback text"}

`code` is either one expression or statements that set `out`. `out` may be a tensor, a Python number or a tuple/list
of those. With `grad`, the response holds the gradients of `(outputs[output] * seed).sum()` (seed defaults to ones)
with respect to every input that requires grad; an input the output does not depend on gets null.

Floats travel as JSON numbers written with repr (shortest round-trip form, so exact), non-finite ones as the strings
"NaN", "Infinity" and "-Infinity".
"""
import json
import math
import sys
import traceback

protocol = sys.stdout
# Anything the test code prints must not corrupt the protocol stream.
sys.stdout = sys.stderr

try:
    import torch
    import torch.nn.functional as F
except Exception as error:  # noqa: BLE001 - report any import failure to the C# side
    protocol.write(json.dumps({"fatal": f"{type(error).__name__}: {error}", "python": sys.executable}) + "\n")
    protocol.flush()
    sys.exit(1)

torch.set_num_threads(1)

DTYPES = {
    "bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64,
}
NAMES = {v: k for k, v in DTYPES.items()}


def decode_value(v):
    if isinstance(v, str):
        return float(v)  # "NaN", "Infinity", "-Infinity"
    return v


def decode(spec):
    dtype = DTYPES[spec["dtype"]]
    values = [decode_value(v) for v in spec["values"]]
    if dtype.is_floating_point:
        t = torch.tensor(values, dtype=torch.float64).to(dtype)
    else:
        t = torch.tensor(values, dtype=torch.int64).to(dtype)
    t = t.reshape(spec["shape"])
    if spec.get("requires_grad"):
        t.requires_grad_(True)
    return t


def encode_float(v):
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def encode(t):
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        t = torch.tensor(t)
    if t.dtype not in NAMES:
        raise TypeError(f"the oracle cannot return tensors of dtype {t.dtype}")
    flat = t.detach().reshape(-1)
    if t.dtype.is_floating_point:
        values = [encode_float(v) for v in flat.to(torch.float64).tolist()]
    else:
        values = flat.to(torch.int64).tolist()
    return {"values": values, "shape": list(t.shape), "dtype": NAMES[t.dtype]}


def run(code, env):
    try:
        compiled = compile(code, "<oracle>", "eval")
    except SyntaxError:
        exec(compile(code, "<oracle>", "exec"), env)
        if "out" not in env:
            raise NameError("the oracle code must set `out`") from None
        return env["out"]
    return eval(compiled, env)


def handle(request):
    inputs = {name: decode(spec) for name, spec in request.get("inputs", {}).items()}
    env = {"torch": torch, "F": F, "math": math}
    env.update(inputs)
    out = run(request["code"], env)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    response = {"outputs": [encode(o) for o in outputs]}
    grad = request.get("grad")
    if grad is not None:
        target = outputs[grad.get("output", 0)]
        seed = decode(grad["seed"]) if grad.get("seed") is not None else torch.ones_like(target)
        names = [name for name, t in inputs.items() if t.requires_grad]
        grads = torch.autograd.grad([target], [inputs[n] for n in names], grad_outputs=[seed], allow_unused=True)
        response["grads"] = {n: encode(g) for n, g in zip(names, grads)}
    return response


def main():
    protocol.write(json.dumps({"ready": True, "torch": torch.__version__}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            response = handle(json.loads(line))
        except Exception:  # noqa: BLE001 - every failure goes back to the test as text
            response = {"error": traceback.format_exc(limit=-3)}
        protocol.write(json.dumps(response, allow_nan=False) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
