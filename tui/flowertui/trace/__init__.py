"""Watching other programs: the probe injected into them, the launcher and the receiver."""
