"""medseg.cli (see ARCHITECTURE.md for what it holds)."""
