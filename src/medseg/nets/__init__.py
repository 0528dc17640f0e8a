"""medseg.nets (see ARCHITECTURE.md for what it holds)."""
