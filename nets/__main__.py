"""``python -m nets``: the two commands, ``train`` and ``inspect``, under one name.

``python -m nets train ...`` is ``python -m nets.train ...``; ``python -m nets inspect ...`` is
``python -m nets.inspect ...``. Without a command (or with ``-h``) it prints the usage; anything
else is one line on stderr and exit code 2, as the commands themselves answer a bad flag.
"""

import sys

USAGE = """\
usage: python -m nets.train   [--model ID] [--dataset ID] [--epochs N] [--batch-size B] [--lr L]
                              [--optimizer adam|sgd] [--schedule ID] [--resize R]
                              [--device auto|cpu|cuda] [--seed S] [--save PATH [--overwrite]]
                              [--fast] [--json]
       python -m nets.inspect --model ID --input N,C,H,W [--json]   (layer output shapes)
       python -m nets.inspect --block residual|dense|transition --input N,C,H,W [...] [--json]
                                                                     (one block of the chapter)
       (python -m nets train ... and python -m nets inspect ... are the same commands)

Run either with --help for every option.
"""


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "train":
        from nets.train import main as run
    elif command == "inspect":
        from nets.inspect import main as run
    else:
        print(f"python -m nets: unknown command {command!r}: use train or inspect "
              "(python -m nets --help)", file=sys.stderr)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
