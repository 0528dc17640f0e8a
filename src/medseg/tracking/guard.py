"""A frontend that cannot stop training: every failure becomes one warning line.

A tracking service that is down, slow or refuses a request must not cost the run. Each call is
tried; an exception is logged on the ``medseg.tracking`` logger as one line (``tracking: notion
start failed: ...``) and swallowed. A failed ``start`` turns the frontend off for the rest of the
run (there is no run to report to), and so do ``max_failures`` failures in a row of later calls
(each would cost a timeout). ``KeyboardInterrupt`` is not caught. urllib3's own retry warnings are
held back during a call, so an outage reads as one line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, Frontend, redact

logger = logging.getLogger("medseg.tracking")


def one_line(exc: BaseException) -> str:
    """``exc`` as one short, redacted line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return str(redact(text if len(text) <= 240 else text[:237] + "..."))


class GuardedFrontend(BaseFrontend):
    """Wraps ``frontend``; see the module docstring."""

    def __init__(self, frontend: Frontend, max_failures: int = 3) -> None:
        self.frontend = frontend
        self.name = frontend.name
        self.max_failures = max_failures
        self.failures = 0
        self.disabled = False
        self.started = False

    def _call(self, method: str, *args: Any) -> Any:
        if self.disabled:
            return None
        quiet = logging.getLogger("urllib3")  # its retry warnings would add lines to our one
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            result = getattr(self.frontend, method)(*args)
        except Exception as exc:
            self.failures += 1
            if method == "start" or self.failures >= self.max_failures:
                self.disabled = True
            after = "off for the rest of this run" if self.disabled else "training goes on"
            logger.warning("tracking: %s %s failed: %s; %s", self.name, method, one_line(exc), after)
            return None
        finally:
            quiet.setLevel(level)
        self.failures = 0
        return result

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Start (or continue) the run; None when that failed."""
        result = self._call("start", run_name, params, run_id)
        self.started = not self.disabled
        return None if result is None else str(result)

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Forward, guarded."""
        self._call("log_metrics", metrics, step)

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Forward, guarded."""
        self._call("log_artifact", path, kind, step)

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Forward, guarded."""
        self._call("log_document", name, document)

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Forward, guarded."""
        self._call("log_summary", summary)

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Forward, guarded (only a started run is finished)."""
        if self.started:
            self._call("finish", status)
            self.started = False
