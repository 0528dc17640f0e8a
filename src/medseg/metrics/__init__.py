"""medseg.metrics (see ARCHITECTURE.md for what it holds)."""
