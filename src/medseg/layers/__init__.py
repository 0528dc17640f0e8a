"""medseg.layers (see ARCHITECTURE.md for what it holds)."""
