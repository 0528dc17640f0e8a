"""medseg.evaluation (see ARCHITECTURE.md for what it holds)."""
