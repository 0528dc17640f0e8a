#!/usr/bin/env bash
# The full check: lint (ruff), types (mypy on src/), layering (import-linter) and the test suite.
# Run from the repository root after installing with the ".[dev]" extra into .venv (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${MEDSEG_VENV:-.venv}/bin"
export MPLBACKEND=Agg
echo "== ruff"; "$BIN/ruff" check src tests bench
echo "== ruff format"; "$BIN/ruff" format --check src tests bench
echo "== mypy"; "$BIN/mypy"
echo "== import-linter"; "$BIN/lint-imports"
echo "== pytest"; "$BIN/python" -m pytest -n 2 --durations=15 "$@"
