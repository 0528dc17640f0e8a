"""medseg.viz (see ARCHITECTURE.md for what it holds)."""
