"""The ``medseg`` command: one verb per stage. Thin: parses arguments and calls the library.

Flags override the config file; the effective config is saved with the results. A user error
(:class:`~medseg.core.errors.MedsegError`) prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from medseg.cli import export_verb, inference_verbs, report_verb, stages, tools
from medseg.core.errors import MedsegError

#: the demo's default wall-clock budget: inside the 10 minutes promised, with room for start-up
DEMO_BUDGET_S = 480.0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="medseg", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    stages.register(sub)
    inference_verbs.register(sub)
    tools.register(sub)
    report_verb.register(sub)
    export_verb.register(sub)
    demo = sub.add_parser("demo", help="run the demo on the embedded hippocampus sample")
    demo.add_argument("--out", default="medseg_results/demo", help="where to write the results")
    demo.add_argument("--time-budget", type=float, default=DEMO_BUDGET_S,
                      help="seconds for the whole demo, training fitted inside (default: %(default)s)")
    demo.set_defaults(func=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from medseg.cli.demo import run_demo

    return run_demo(out=args.out, time_budget_s=args.time_budget)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medseg`` command; user errors print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MedsegError as exc:
        print(f"medseg: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
