"""``python -m nets``: point to the real commands."""

import sys

USAGE = """\
usage: python -m nets.train   [--model ID] [--dataset ID] [--epochs N] [--batch-size B] [--lr L]
                              [--optimizer adam|sgd] [--schedule ID] [--resize R]
                              [--device auto|cpu|cuda] [--seed S] [--save PATH] [--fast] [--json]
       python -m nets.inspect --model ID --input N,C,H,W [--json]   (layer output shapes)

Run either with --help for every option.
"""


def main(argv=None) -> int:
    sys.stdout.write(USAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
