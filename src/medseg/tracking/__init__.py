"""medseg.tracking (see ARCHITECTURE.md for what it holds)."""
