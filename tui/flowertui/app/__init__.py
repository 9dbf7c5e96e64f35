"""The Textual app: it subscribes to the engine's events and draws them, nothing more."""
