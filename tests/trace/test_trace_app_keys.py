"""The trace app's ctrl+c, through the real command on a terminal: SIGINT to the program, twice quits."""

from __future__ import annotations

import time

from tests.support.traced import program
from tests.trace.pty_app import PtyApp


def test_ctrl_c_interrupts_the_program_and_a_second_one_quits_flowertui():
    app = PtyApp("trace", program("until_ctrl_c.py"))
    try:
        app.wait_for("waiting for ctrl+c", timeout=90)
        assert "int" in app.screen()  # the footer names it
        app.press(b"\x03")
        app.wait_for("got SIGINT", timeout=30)
        app.wait_for("exited 4", timeout=30)
        assert app.process.poll() is None  # one ctrl+c: flowertui stays
        app.press(b"\x1b")  # out of the input box
        time.sleep(0.3)
        app.press(b"r")  # a new run, then ctrl+c twice within 2 s
        time.sleep(2.5)
        app.press(b"\x03")
        time.sleep(0.3)
        app.press(b"\x03")
        assert app.wait(30) == 4  # quit; the program's run ended by the first ctrl+c
    finally:
        app.close()


def test_the_console_wraps_long_lines_and_shows_a_carriage_return_redraw_in_its_last_state():
    app = PtyApp("trace", program("progress.py"))
    try:
        app.wait_for("step-two-done", timeout=90)
        time.sleep(0.5)
        screen = app.screen()
        assert "-tail-end" in screen  # the long line's end wrapped into view
        assert "step-one" not in screen
    finally:
        app.close()
