"""medseg.config (see ARCHITECTURE.md for what it holds)."""
