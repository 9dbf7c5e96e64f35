"""`flowertui serve` as a command: a free port printed, answers, Ctrl-C stops it; and its imports stay out of the app."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx


def test_serve_prints_its_url_answers_and_stops_on_ctrl_c():
    process = subprocess.Popen([sys.executable, "-m", "flowertui", "serve"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
        assert found, line
        reply = httpx.post(f"{found.group(0)}/chat/completions",
                           json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert '"POST /v1/chat/completions HTTP/1.1" 200' in out  # uvicorn's access log


def test_serve_reports_a_port_in_use_in_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run([sys.executable, "-m", "flowertui", "serve", "--port", str(taken.getsockname()[1])],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot listen" in done.stderr and "Traceback" not in done.stderr


def test_the_http_stack_is_not_on_the_apps_import_path():
    code = (
        "import sys; import flowertui.cli, flowertui.config, flowertui.app.app, flowertui.serve;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'httpx', 'openai')];"
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
