"""Docstrings as ``--help`` text: reStructuredText markup removed, so the terminal shows plain words.

The verbs' docstrings are written for the API docs (````medseg train````, ``:class:`~a.b.C```);
argparse prints descriptions verbatim, so the markup is turned into what it stands for.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|ref|doc):`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``")
_EMPHASIS = re.compile(r"(?<![\w*])\*\*?([^*\s][^*]*?)\*\*?(?![\w*])")


def plain(doc: str | None) -> str | None:
    """``doc`` without rst markup: ````x```` -> ``x``, ``:class:`~a.b.C``` -> ``C``, ``*x*`` -> ``x``."""
    if doc is None:
        return None

    def role(match: re.Match[str]) -> str:
        target = match.group(1).strip()
        return (
            target.rsplit(".", 1)[-1]
            if match.group(0).startswith(
                (":class:`~", ":func:`~", ":meth:`~", ":mod:`~", ":attr:`~", ":data:`~", ":exc:`~", ":obj:`~")
            )
            else target
        )

    text = _ROLE.sub(role, doc)
    text = _LITERAL.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)
