"""Alt with a digit as xterm and tmux send it (Esc, then the digit), to the real `flowertui` on a pseudo-terminal."""

from __future__ import annotations

from tests.trace.pty_app import PtyApp


def test_alt_2_typed_in_the_message_box_switches_memory_and_types_nothing():
    app = PtyApp()
    try:
        app.wait_for("memory buffer", timeout=90)
        app.wait_for("offline · flowershop-offline", timeout=90)  # the engine is ready: the status line names it
        app.press(b"hi")
        app.press(b"\x1b2")  # alt+2
        app.wait_for("memory window", timeout=30)
        assert "\u2122" not in app.screen()  # not `™` (macOS's Option+2) typed into the box
        app.press(b"\x11")  # ctrl+q
        assert app.wait(30) == 0
    finally:
        app.close()
