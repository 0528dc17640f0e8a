"""medseg.inference (see ARCHITECTURE.md for what it holds)."""
