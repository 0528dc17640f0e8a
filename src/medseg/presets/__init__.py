"""medseg.presets (see ARCHITECTURE.md for what it holds)."""
