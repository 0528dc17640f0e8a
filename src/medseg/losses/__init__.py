"""medseg.losses (see ARCHITECTURE.md for what it holds)."""
