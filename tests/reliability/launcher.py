"""A warm launcher for the kill campaign: imports the ``medseg`` command once, then runs each requested
command in a forked child, so a dozen killed and resumed runs do not pay a dozen interpreter starts.

Protocol (one JSON object per line): stdin ``{"argv": [...], "env": {...}, "stdout": PATH, "stderr": PATH}``;
stdout ``{"pid": PID}`` as soon as the child runs, then ``{"code": STATUS}`` when it ended (negative: killed
by that signal). Each child is the leader of its own process group, so its loader workers (forked from it)
can be found by group id after it was killed. The child runs exactly what ``medseg ARGV`` runs
(:func:`medseg.cli.main.main`), with ``MEDSEG_KILL_AT`` from ``env`` choosing where it dies.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)

import torch._dynamo  # noqa: E402  (what the optimiser imports on first use: 4 s, paid once here)

import medseg.data.loader  # noqa: E402
import medseg.presets.pipeline  # noqa: E402
import medseg.presets.segmentation  # noqa: E402
import medseg.training.callbacks.plots  # noqa: E402
import medseg.viz.previews  # noqa: E402,F401
from medseg.cli.main import main  # noqa: E402


def _warm_matplotlib() -> None:
    """Draw one figure with text: fonts and renderers load here once, not in every child."""
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="warm")
    ax.imshow([[0, 1], [1, 0]])
    ax.set_title("warm")
    ax.legend()
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png")


_warm_matplotlib()


def _child(request: dict[str, object]) -> int:
    os.setpgid(0, 0)
    for fd, key in ((1, "stdout"), (2, "stderr")):
        target = os.open(str(request[key]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})  # type: ignore[call-overload]
    try:
        return int(main([str(a) for a in request["argv"]]))  # type: ignore[attr-defined]
    except SystemExit as exc:
        return int(exc.code or 0)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def serve() -> None:
    """Answer requests on stdin until it closes."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(_child(request))
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
