"""A program hostile to the probe, chosen by argv[1]; it makes argv[2] calls (default 3) and reports to argv[3]."""

import json
import os
import socket
import sys
import time

how = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3
report = sys.argv[3] if len(sys.argv) > 3 else None


class Stop(BaseException):
    pass


if how == "socket_raises":  # every connection attempt raises a BaseException
    def refuse(*args, **kwargs):
        raise Stop("no sockets here")

    socket.socket.connect = refuse
    socket.create_connection = refuse
elif how == "json_patched":
    def broken(*args, **kwargs):
        raise ValueError("json.dumps is off limits")

    json.dumps = broken
elif how == "closed_stdio":
    os.close(1)
    os.close(2)

from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402

model = FakeListChatModel(responses=[f"answer {i}" for i in range(calls)])
for _ in range(calls):
    model.invoke("question")
if how == "closed_stdio":
    try:
        os.write(1, b"to a closed stdout\n")
        outcome = "written"
    except OSError as exc:
        outcome = f"OSError {exc.errno}"
    with open(report, "w") as handle:
        handle.write(outcome)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # nowhere to print "done" to
elif how == "socket_raises" and report:
    started = time.monotonic()
    sys.modules["flowertui_probe"]._shipper.close()  # what the probe's exit handler does: timed
    with open(report, "w") as handle:
        handle.write(repr(time.monotonic() - started))
elif how == "os_exit":  # every run has ended: die once the probe has sent them by itself (no exit handler asks it
    # to) and the viewer has acknowledged them (an acknowledgement left unread would reset the connection), or
    # after 30 s; not after a fixed time that a loaded machine may not give the viewer
    shipper = sys.modules["flowertui_probe"]._shipper
    deadline = time.monotonic() + 30
    while (shipper.buffer or not shipper._idle) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        shipper._read_acks(max(0.0, deadline - time.monotonic()))
    except OSError:
        pass
    os._exit(0)
print("done", flush=True)
