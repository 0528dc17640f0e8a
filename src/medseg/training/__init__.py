"""medseg.training (see ARCHITECTURE.md for what it holds)."""
