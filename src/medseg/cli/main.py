"""The medseg command: one verb per stage. Thin: parses arguments and calls the library.

Flags override the config file; the effective config is saved with the results. A user error
(:class:`~medseg.core.errors.MedsegError`) prints one line on stderr and exits with status 2, and so
does an :class:`OSError` of the environment (a full disk, a read-only or missing folder:
``medseg: error: PATH: No space left on device``); Ctrl-C (or SIGTERM, e.g. a cluster's preemption)
stops cleanly with status 130: a training run is marked interrupted in its tracking frontends and
can be resumed with ``medseg train --resume``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from typing_extensions import override

from medseg.cli import export_verb, inference_verbs, report_verb, stages, tools
from medseg.cli.help_text import plain
from medseg.core import termination
from medseg.core.atomic import os_error_line
from medseg.core.errors import MedsegError

#: the demo's default wall-clock budget: inside the 10 minutes promised, with room for start-up
DEMO_BUDGET_S = 480.0


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like every other error."""

    @override
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"medseg: error: command line: {one_line(message)} (see '{self.prog} --help')\n")


def positive_seconds(text: str) -> float:
    """A number of seconds > 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


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
    parser = OneLineParser(
        prog="medseg", description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="verb", required=True)
    stages.register(sub)
    inference_verbs.register(sub)
    tools.register(sub)
    report_verb.register(sub)
    export_verb.register(sub)
    demo = sub.add_parser(
        "demo",
        help="run the demo on the embedded hippocampus sample",
        description="medseg demo: the automatic pipeline on the hippocampus sample embedded "
        "in the package, fitted to a wall-clock budget.",
    )
    demo.add_argument("--out", default="medseg_results/demo", help="where to write the results")
    demo.add_argument(
        "--time-budget",
        type=positive_seconds,
        default=DEMO_BUDGET_S,
        help="seconds for the whole demo, training fitted inside (default: %(default)s)",
    )
    demo.set_defaults(func=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from medseg.cli.demo import run_demo

    return run_demo(out=args.out, time_budget_s=args.time_budget)


def one_line(text: str) -> str:
    """``text`` on one line (its lines joined with spaces), for the error line on stderr."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or "unknown error"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medseg`` command; user errors print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    # Under torchrun (WORLD_SIZE > 1) join the process group (train, run-all, predict). Only then is
    # torch imported here: `predict --backend onnxruntime` must run where torch is not installed.
    distributed: ModuleType | None = None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from medseg.training import distributed as ranks

        distributed = ranks
        ranks.init_from_env()
    try:
        previous = signal.signal(signal.SIGTERM, termination.request)
    except ValueError:  # not the main thread: signals stay as they are
        previous = None
    try:
        status = int(args.func(args))
        termination.check()  # a SIGTERM whose first raise was swallowed still ends as interrupted
        return status
    except MedsegError as exc:
        print(f"medseg: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment: disk full, read-only folder, file vanished, ...
        print(f"medseg: error: {one_line(os_error_line(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("medseg: interrupted", file=sys.stderr)
        termination.clear()
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if distributed is not None:
            distributed.shutdown()


if __name__ == "__main__":
    sys.exit(main())
