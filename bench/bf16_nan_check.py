"""Does this torch/oneDNN still return NaN gradients for ResNet-18 under CPU bf16 autocast on small
inputs? The check behind ``nets.train.CPU_AUTOCAST_MIN_INPUT``; rerun it after a torch upgrade.

    python bench/bf16_nan_check.py [--sizes 16,24,32] [--trials 20] [--threads 1]

For each input side: ``--trials`` fresh ResNet-18s (same seed), channels-last, under bf16 autocast,
a few Adam steps each on one random batch of 64; prints how many trials met a non-finite loss or
gradient, and the first parameter it hit. Bad arguments: one line on stderr, exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from _args import Parser, UsageError, usage_error  # noqa: E402


def trial(size: int, steps: int = 6) -> str | None:
    """The first non-finite thing met in ``steps`` steps, or None."""
    from nets.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet18").to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    x = torch.rand(64, 1, size, size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (64,))
    for step in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        if not torch.isfinite(loss):
            return f"loss at step {step}"
        for name, p in model.named_parameters():
            if p.grad is not None and not torch.isfinite(p.grad).all():
                return f"{name} gradient at step {step}"
        opt.step()
    return None


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python bench/bf16_nan_check.py")
    p.add_argument("--sizes", default="16,24,32")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    try:
        a = p.parse_args(argv)
        sizes = [int(s) for s in a.sizes.split(",")]
        if not sizes or min(sizes) < 1 or max(sizes) > 256:
            raise ValueError
    except ValueError:
        return usage_error("bf16_nan_check.py", "--sizes must be sides 1..256, comma-separated")
    except UsageError as exc:  # argparse's own message: "argument --trials: invalid int value"
        return usage_error("bf16_nan_check.py", exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if not 1 <= a.trials <= 1000:
        return usage_error("bf16_nan_check.py", f"--trials must be from 1 to 1000, got {a.trials}")
    if not 1 <= a.threads <= 256:
        return usage_error("bf16_nan_check.py", f"--threads must be from 1 to 256, got {a.threads}")
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s)")
    for size in sizes:
        hits = [r for r in (trial(size) for _ in range(a.trials)) if r]
        print(f"{size:>3} px: {len(hits)} of {a.trials} trials non-finite"
              + (f" (first: {hits[0]})" if hits else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
