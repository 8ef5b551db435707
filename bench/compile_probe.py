"""Does torch.compile pay for ResNet-18 / DenseNet training on this GPU? Compile time and speed.

    python bench/compile_probe.py --model resnet18 --batch-size 1024 --json

Trains on random 96x96 inputs (channels-last, bf16 autocast, fused Adam, as nets.train does on
CUDA) and prints, for the eager model and for ``torch.compile(model)``: the seconds of the first
steps (the compile, for the compiled one) and examples/s over ``--steps`` steps after that, outside
the trainer (no CUDA graph). The trainer compiles only when asked (``--compile``; see the README's
performance notes): a compile pays once its seconds are less than the time it saves over a run.
``bench/train_speed.py --modes default,default-compiled`` measures the trainer's own compiled step.
Bad arguments: one line on stderr, exit code 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from _args import Parser, UsageError, usage_error  # noqa: E402
from nets.models import MODELS, build_model  # noqa: E402


def measure(model_id: str, batch: int, size: int, steps: int, compiled: bool) -> dict:
    dev = torch.device("cuda")
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    net = build_model(model_id, num_classes=10).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    fwd = torch.compile(net) if compiled else net
    x = torch.rand(batch, 1, size, size, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(fwd(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(3):  # the compile (or cuDNN's autotuning) happens here
        step()
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    return {"model": model_id, "compiled": compiled, "batch_size": batch, "size": size,
            "first_3_steps_seconds": round(first, 2),
            "examples_per_s": round(batch * steps / secs, 1)}


def main(argv=None) -> int:
    p = Parser(prog="compile_probe.py", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--json", action="store_true")
    try:
        a = p.parse_args(argv)
    except UsageError as exc:  # "argument --steps: invalid int value: 'x'", one line
        return usage_error("compile_probe.py", exc)
    if a.model not in MODELS or not torch.cuda.is_available() or a.batch_size < 2:
        return usage_error("compile_probe.py", "needs CUDA, a model from nets.models and a batch "
                                               "of 2 or more")
    spec, hi = MODELS[a.model], 256  # nets.train's MAX_RESIZE
    if not spec.min_input <= a.size <= min(spec.max_input or hi, hi) or a.steps < 1:
        return usage_error("compile_probe.py", f"--size must fit {a.model} ({spec.min_input}.."
                                               f"{min(spec.max_input or hi, hi)}) and --steps be "
                                               f"1 or more")
    out = [measure(a.model, a.batch_size, a.size, a.steps, c) for c in (False, True)]
    out[1]["speedup"] = round(out[1]["examples_per_s"] / out[0]["examples_per_s"], 2)
    print(json.dumps(out) if a.json else "\n".join(map(str, out)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
