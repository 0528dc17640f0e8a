"""The medseg command: one verb per stage. Thin: parses arguments and calls the library.

Flags override the config file; the effective config is saved with the results. A user error
prints one line on stderr and exits with status 2; Ctrl-C (or SIGTERM, e.g. a cluster's preemption)
stops cleanly with status 130: a training run is marked interrupted in its tracking frontends and
can be resumed with ``medseg train --resume``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from medseg.cli import inference_verbs, report_verb, stages, tools
from medseg.cli.help_text import plain
from medseg.core.errors import MedsegError

#: the demo's default wall-clock budget: inside the 10 minutes promised, with room for start-up
DEMO_BUDGET_S = 480.0


def version_text() -> str:
    """``medseg X (torch Y, python Z)``, without importing torch."""
    import importlib.metadata
    import platform

    import medseg

    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    return f"medseg {medseg.__version__} (torch {torch_version}, python {platform.python_version()})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="medseg", description=plain(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="verb", required=True)
    stages.register(sub)
    inference_verbs.register(sub)
    tools.register(sub)
    report_verb.register(sub)
    demo = sub.add_parser("demo", help="run the demo on the embedded hippocampus sample",
                          description="medseg demo: the automatic pipeline on the hippocampus sample embedded "
                                      "in the package, fitted to a wall-clock budget.")
    demo.add_argument("--out", default="medseg_results/demo", help="where to write the results")
    demo.add_argument("--time-budget", type=float, default=DEMO_BUDGET_S,
                      help="seconds for the whole demo, training fitted inside (default: %(default)s)")
    demo.set_defaults(func=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from medseg.cli.demo import run_demo

    return run_demo(out=args.out, time_budget_s=args.time_budget)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medseg`` command; user errors print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: signals stay as they are
        previous = None
    try:
        return int(args.func(args))
    except MedsegError as exc:
        print(f"medseg: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("medseg: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
