"""The probe: sees every LangChain callback event of the program it runs in and ships it to flowertui.

It runs inside someone else's program, so it uses only the standard library and
langchain_core, never raises into the program and never blocks it:

- LangChain is patched only once the program imports it (an import hook waits
  for `langchain_core.callbacks.manager` and `langchain_core.tracers.context`).
- One handler is registered with `register_configure_hook(..., inheritable=True,
  env_var=...)`, the mechanism `get_openai_callback` uses, so every run has it.
- `handle_event` / `ahandle_event` are wrapped: each event is recorded once,
  with the run's handlers and how each was attached (constructor, request,
  context); the manager's logger is tapped to catch handler errors, which
  LangChain only logs.
- Records go into a bounded buffer; a daemon thread sends them in batches over
  127.0.0.1 TCP (a per-session token first). The viewer acknowledges what it has
  stored; when it is gone, everything not acknowledged and everything after goes
  to a JSONL spool file that flowertui imports on its next start.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import fcntl
import json
import os
import select
import socket
import sys
import threading
import time

# Bound at import: a program that patches json, socket or os later does not change what the probe runs.
_json_dumps = json.dumps
_create_connection = socket.create_connection
_socket = socket.socket
_select = select.select
_os_open, _os_close, _os_write, _makedirs, _getpid = os.open, os.close, os.write, os.makedirs, os.getpid
_monotonic, _monotonic_ns, _wall, _sleep = time.monotonic, time.monotonic_ns, time.time, time.sleep
_Thread, _Event = threading.Thread, threading.Event
_DUPFD = getattr(fcntl, "F_DUPFD_CLOEXEC", fcntl.F_DUPFD)
_fcntl = fcntl.fcntl

ENV_ENABLED = "FLOWERTUI_TRACE"  # the configure hook's env var: the probe handler joins runs while set
ENV_ADDR = "FLOWERTUI_TRACE_ADDR"
ENV_TOKEN = "FLOWERTUI_TRACE_TOKEN"
ENV_SPOOL = "FLOWERTUI_TRACE_SPOOL"
ENV_SESSION = "FLOWERTUI_TRACE_SESSION"
ENV_RUN = "FLOWERTUI_TRACE_RUN"
ENV_QUIET_DEPRECATIONS = "FLOWERTUI_TRACE_QUIET_DEPRECATIONS"  # set for the lessons flowertui ships, never else
PROTOCOL = 3  # the version of what the probe sends (docs/PROBE.md); in the connection line and the hello record

QUEUE_LIMIT = 50_000
BATCH = 512
BATCH_PAUSE = 0.005  # seconds a woken sender waits for a batch to gather
BURST, BURST_PAUSE = 200, 0.1  # a batch this big means a burst: pause longer between sends (a run's end cuts it)
LINE_LIMIT = 4 << 20  # bytes in one line; the viewer skips lines over 8 MB
FIELD_LIMIT = 1 << 20  # characters a text keeps in a record too big for a line
ACK_READ_EVERY = 32
EXIT_WAIT = 3.0  # at most this long at exit
ACK_WAIT = 2.0  # of which waiting for the viewer's last acknowledgement, then spool the rest
MIN_SECRET = 8


def _secret_name(name):
    """The viewer's rule (flowertui.engine.sanitize.secret_name), without importing re into the program."""
    name = name.upper()
    return ("PASSWORD" in name or "PASSWD" in name or "CREDENTIAL" in name
            or name.endswith(("_KEY", "_TOKEN", "_SECRET")))

_MANAGER = "langchain_core.callbacks.manager"
_CONTEXT = "langchain_core.tracers.context"

_shipper = None
_state = {"hooks": None, "probe_class": None, "base_methods": None, "extract": None}
RUNS_LIMIT = 10_000  # open runs remembered; a program that abandons runs must not grow this forever
_current = contextvars.ContextVar("flowertui_probe_event", default=None)
_hook_var = contextvars.ContextVar("flowertui_probe_handler", default=None)
_streaming = [None]  # (run id object, its text) of the run whose tokens were recorded last
TOKENS_CHARS = 1 << 18  # characters of token text in one `tokens` record (so its line stays under LINE_LIMIT)
_runs = {}  # run_id -> ({callback: receiving handlers}, [(name, scope, class, handler)]) while the run is open
_acts_cache = {}


# --------------------------------------------------------------------------- start


def start_from_environment():
    """Start when flowertui's launcher set the variables; otherwise do nothing."""
    if os.environ.get(ENV_QUIET_DEPRECATIONS):
        _quiet_deprecations()
    if os.environ.get(ENV_ENABLED) and (os.environ.get(ENV_ADDR) or os.environ.get(ENV_SPOOL)):
        start(os.environ.get(ENV_ADDR), os.environ.get(ENV_TOKEN, ""), os.environ.get(ENV_SPOOL),
              os.environ.get(ENV_SESSION, ""), os.environ.get(ENV_RUN, "1"))


def start(addr, token, spool_dir, session_id, run="1"):
    """Activate the probe in this process (idempotent). Returns False when it was already active."""
    global _shipper
    if _shipper is not None:
        return False
    os.environ[ENV_ENABLED] = "1"
    _shipper = _Shipper(addr, token, spool_dir, session_id, run)
    atexit.register(_shipper.close)
    atexit.register(_hello_at_exit)  # runs first (atexit is last in, first out)
    # said at once, LangChain or not: a viewer that never hears this knows the probe did not load
    _shipper.put({"t": "loaded", "pid": _getpid(), "argv": list(sys.argv), "python": sys.version.split()[0]})
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_shipper.after_fork)
    if _MANAGER in sys.modules and _CONTEXT in sys.modules:
        _patch_manager(sys.modules[_MANAGER])
        _register_hook(sys.modules[_CONTEXT])
    else:
        sys.meta_path.insert(0, _PostImportFinder())
        if _MANAGER in sys.modules:
            _patch_manager(sys.modules[_MANAGER])
    return True


def _quiet_deprecations():
    """A lesson flowertui ships uses LangChain's deprecated classes on purpose (it teaches them): their deprecation
    warnings are not printed. Not a warnings filter: importing langchain_core (and langchain_classic) puts
    LangChain's own "default" filters in front of any set before, so the warnings are dropped where shown."""
    import warnings

    show = warnings.showwarning

    def showwarning(message, category, *args, **kwargs):
        try:
            if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
                return None
        except TypeError:
            pass
        return show(message, category, *args, **kwargs)

    warnings.showwarning = showwarning


def active():
    return _shipper is not None


def pause():
    """Stop joining new runs (the configure hook's env var off) and wait until what is queued is sent."""
    os.environ[ENV_ENABLED] = ""
    if _shipper is not None:
        _shipper.drain(EXIT_WAIT)


def resume():
    os.environ[ENV_ENABLED] = "1"


class _PostImportFinder:
    """Finds LangChain's modules through the other finders and runs a patch once each has executed."""

    def __init__(self):
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in (_MANAGER, _CONTEXT) or self._busy:
            return None
        self._busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        except Exception:
            return None
        finally:
            self._busy = False
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec
        patch = _patch_manager if fullname == _MANAGER else _register_hook

        finder = self

        def exec_module(module):
            original(module)
            try:
                patch(module)
                if _state["hooks"] is not None and getattr(sys.modules.get(_MANAGER), "_flowertui_patched", False):
                    sys.meta_path.remove(finder)  # both patched: nothing more to wait for
            except Exception:
                pass

        try:
            loader.exec_module = exec_module
        except Exception:
            pass
        return spec


# --------------------------------------------------------------------------- patching


def _patch_manager(manager):
    if getattr(manager, "_flowertui_patched", False):
        return
    _state["extract"] = _state["extract"] or _extract_module()  # the logger tap reads handler errors with it
    original_handle, original_ahandle = manager.handle_event, manager.ahandle_event
    fallback_code = original_handle.__code__

    def handle_event(handlers, event_name, ignore_condition_name, *args, **kwargs):
        if event_name == "on_llm_new_token":  # the hot path, one per streamed token: a tuple queued, nothing more
            last = _streaming[0]
            if last is not None and kwargs.get("run_id") is last[0]:  # the run recorded last: compared, not hashed
                _note_token(last[1], args, kwargs)
                token = _current.set((event_name, last[0], handlers))
                try:
                    return original_handle(handlers, event_name, ignore_condition_name, *args, **kwargs)
                finally:
                    _current.reset(token)
        caller = sys._getframe(1)
        if caller.f_code is fallback_code:  # on_chat_model_start falling back to on_llm_start, per handler
            return original_handle(handlers, event_name, ignore_condition_name, *args, **kwargs)
        token = _note(handlers, event_name, ignore_condition_name, caller, args, kwargs)
        try:
            return original_handle(handlers, event_name, ignore_condition_name, *args, **kwargs)
        finally:
            if token is not None:
                _current.reset(token)

    def ahandle_event(handlers, event_name, ignore_condition_name, *args, **kwargs):
        # a plain function returning the coroutine, so the calling manager's frame is still at hand
        caller = sys._getframe(1)
        return _anoted(original_ahandle, caller, handlers, event_name, ignore_condition_name, args, kwargs)

    manager.handle_event = handle_event
    manager.ahandle_event = ahandle_event
    manager.logger = _LoggerTap(manager.logger)
    manager._flowertui_patched = True


async def _anoted(original, caller, handlers, event_name, ignore_condition_name, args, kwargs):
    token = _note(handlers, event_name, ignore_condition_name, caller, args, kwargs)
    try:
        return await original(handlers, event_name, ignore_condition_name, *args, **kwargs)
    finally:
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # reset from another context (a task switch): nothing to undo there
                pass


def _register_hook(context_module):
    if _state["hooks"] is not None:
        return
    from langchain_core.callbacks.base import BaseCallbackHandler

    _state["extract"] = _state["extract"] or _extract_module()

    class FlowertuiProbe(BaseCallbackHandler):
        """flowertui's handler: joins every run through the configure hook; the recording is done around it.

        It has no callback code of its own, so it ignores every event kind: LangChain then skips it instead of
        calling a base-class no-op for each event (1.3 µs per streamed token, as much as a program's own handler)."""

        run_inline = True
        ignore_llm = ignore_chat_model = ignore_chain = ignore_agent = ignore_retriever = ignore_retry = True
        ignore_custom_event = True

    _state["probe_class"] = FlowertuiProbe
    _state["base_methods"] = BaseCallbackHandler
    context_module.register_configure_hook(_hook_var, True, FlowertuiProbe, ENV_ENABLED)
    _state["hooks"] = context_module._configure_hooks
    _hello(True)


def _hello(hooked):
    """LangChain is in the program; `hooked` False: imported, but its callback manager never was (no runs)."""
    _state["hello"] = True
    _shipper.put({"t": "hello", "protocol": PROTOCOL, "pid": _getpid(), "argv": list(sys.argv),
                  "python": sys.version.split()[0], "langchain_core": _version(), "hooked": hooked})


def _hello_at_exit():
    try:
        if not _state.get("hello") and "langchain_core" in sys.modules and _shipper is not None:
            _hello(False)
    except Exception:
        pass



def _extract_module():
    """The callback reader beside this file, loaded with LangChain (not at interpreter start): a package module
    under `flowertui.watch()`, else loaded from this folder by path (sitecustomize took the folder off sys.path)."""
    import importlib
    import importlib.util

    if __package__:
        return importlib.import_module(__package__ + ".flowertui_extract")
    module = sys.modules.get("flowertui_extract")
    if module is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowertui_extract.py")
        spec = importlib.util.spec_from_file_location("flowertui_extract", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["flowertui_extract"] = module
    return module


def _version():
    return getattr(sys.modules.get("langchain_core"), "__version__", None)  # no metadata scan in the program


class _LoggerTap:
    """Stands in for the manager module's logger: handler errors are recorded, then logged as before."""

    def __init__(self, logger):
        self._logger = logger

    def __getattr__(self, name):
        return getattr(self._logger, name)

    def warning(self, msg, *args, **kwargs):
        try:
            _handler_error(msg, args)
        except Exception:
            pass
        self._logger.warning(msg, *args, **kwargs)


# --------------------------------------------------------------------------- recording


def _note(handlers, event_name, ignore_condition_name, caller, args, kwargs):
    """Record the event once (in the call that carries the probe handler) and mark it current for error taps."""
    try:
        probe_class = _state["probe_class"]
        if probe_class is None or _shipper is None:
            return None
        token = _current.set((event_name, kwargs.get("run_id"), handlers))
        for handler in handlers:
            if type(handler) is probe_class:
                _shipper.put(_record(event_name, ignore_condition_name, caller, handlers, args, kwargs))
                break
        return token
    except Exception:
        return None


def _note_token(run_text, args, kwargs):
    """A streamed token after its run's first: (run id text, monotonic ns, text) queued; the sender thread packs
    a run's consecutive tokens into one `tokens` record, and the viewer repeats the first token's handlers."""
    try:
        token = args[0] if args else kwargs.get("token", "")
        _shipper.put_token((run_text, _monotonic_ns(), token if type(token) is str else _state["extract"].text(token)))
    except Exception:
        pass


def _record(event_name, ignore_condition_name, caller, handlers, args, kwargs):
    run_id = kwargs.get("run_id")
    run = _runs.get(run_id)
    if run is None:  # the run's first event: who its handlers are and how each was attached
        parent = kwargs.get("parent_run_id")
        run = ({}, _scopes(caller.f_locals.get("self"), handlers), None if run_id is None else str(run_id),
               None if parent is None else str(parent))
        if run_id is not None and event_name.endswith("_start"):
            if len(_runs) >= RUNS_LIMIT:
                _runs.clear()
            _runs[run_id] = run
    if event_name == "on_llm_new_token" and event_name in run[0]:  # a later token of a run not streaming last
        _streaming[0] = (run_id, run[2]) if run_id is not None else None
        token = args[0] if args else kwargs.get("token", "")
        return run[2], _monotonic_ns(), token if type(token) is str else _state["extract"].text(token)
    receiving = run[0].get(event_name)
    if receiving is None:
        receiving = run[0][event_name] = [
            [name, scope, _acts(cls, event_name)] for name, scope, cls, handler in run[1]
            if ignore_condition_name is None or not _ignores(handler, ignore_condition_name)]
    kind = event_name[3:]
    if kind.endswith(("_end", "_error")):
        _runs.pop(run_id, None)
        if _streaming[0] is not None and _streaming[0][0] is run_id:
            _streaming[0] = None
    record = {"t": "event", "kind": kind, "run_id": run[2], "parent_run_id": run[3],
              "wall": time.time(), "mono": time.monotonic(), "handlers": receiving}
    try:
        record.update(_state["extract"].extract(kind, args, kwargs))
    except Exception as exc:
        record["name"] = kind
        record["payload"] = {"probe_error": repr(exc)[:200]}
    meta = kwargs.get("metadata") or {}
    node = meta.get("langgraph_node") if isinstance(meta, dict) else None
    if node is not None:
        record.setdefault("payload", {})["langgraph_node"] = str(node)
    return record


def _ignores(handler, condition):
    try:
        return bool(getattr(handler, condition))
    except Exception:
        return False


def _scopes(manager, handlers):
    """(name, scope, class, handler) for every program handler of the run; flowertui's own left out."""
    full = getattr(manager, "handlers", None) or handlers
    inheritable = getattr(manager, "inheritable_handlers", None)
    probe_class = _state["probe_class"]
    hooks = _state["hooks"] or ()
    result = []
    for handler in full:
        cls = type(handler)
        if cls is probe_class:
            continue
        if inheritable is not None and not any(h is handler for h in inheritable):
            scope = "constructor"
        elif _from_hook(handler, hooks):
            scope = "context"
        elif inheritable is None:
            scope = "unknown"
        else:
            scope = "request"
        result.append((cls.__name__, scope, cls, handler))
    return result


def _from_hook(handler, hooks):
    for var, _inheritable, handler_class, _env in hooks:
        try:
            if var.get() is handler or (handler_class is not None and isinstance(handler, handler_class)):
                return True
        except Exception:
            continue
    return False


def _acts(cls, event_name):
    """Whether the handler class has its own code for this callback (not the base class's no-op)."""
    key = (cls, event_name)
    if key not in _acts_cache:
        base = _state.get("base_methods")
        own = getattr(cls, event_name, None)
        defaults = [getattr(b, event_name, None) for b in (base, *_async_base()) if b is not None]
        acts = own is not None and all(own is not d for d in defaults)
        if not acts and event_name == "on_chat_model_start":  # LangChain falls back to on_llm_start
            acts = _acts(cls, "on_llm_start")
        _acts_cache[key] = acts
    return _acts_cache[key]


def _async_base():
    try:
        from langchain_core.callbacks.base import AsyncCallbackHandler

        return (AsyncCallbackHandler,)
    except Exception:
        return ()


def _handler_error(msg, args):
    if _shipper is None or not isinstance(msg, str) or "callback" not in msg:
        return
    # None when LangChain ran the handler where the context was not copied (a coroutine in an executor)
    event_name, run_id, handlers = _current.get() or (None, None, ())
    if msg.startswith(("Error in %s.%s callback", "NotImplementedError in %s.%s callback")) and len(args) >= 3:
        handler, callback, error = str(args[0]), str(args[1]), str(args[2])
    elif msg.startswith("Error in callback coroutine") and args:
        import inspect  # here, not at start-up: 13 ms of every traced program's start for a rare error

        coroutine_owners = [type(h).__name__ for h in handlers
                            if event_name and inspect.iscoroutinefunction(getattr(h, event_name, None))]
        handler = coroutine_owners[0] if len(coroutine_owners) == 1 else None
        callback, error = event_name, str(args[0])
    else:
        return
    _shipper.put({"t": "handler_error", "run_id": str(run_id) if run_id else None, "handler": handler,
                  "callback": callback, "error": _state["extract"].text(error), "wall": time.time(), "mono": time.monotonic()})


# --------------------------------------------------------------------------- shipping


class _Shipper:
    """A bounded buffer drained by a daemon thread: socket while the viewer answers, the spool file after that.

    `put` is a deque append (no lock, no wake-up while the thread is busy); the
    thread sends whole batches as one JSON line each. Nothing here may reach the
    program: the thread catches everything (BaseException too) and never writes to
    its streams, its descriptors are never 0-2, and a top-level run's end is sent at
    once (a program leaving through `os._exit` runs no exit handler).
    """

    def __init__(self, addr, token, spool_dir, session_id, run):
        self.addr, self.token, self.spool_dir = addr, token, spool_dir
        self.session_id, self.run = session_id, run
        self._secrets = sorted({v for k, v in os.environ.items() if _secret_name(k) and v and len(v) >= MIN_SECRET},
                               key=len, reverse=True)
        self._reset()

    def _reset(self):
        self.buffer = collections.deque()
        self.dropped = 0
        self._controls = collections.deque()
        self._wake = _Event()
        self._urgent = _Event()  # a top-level run ended: cut the burst pause short
        self._idle = True
        self._thread = None
        self._lock = threading.Lock()
        self._sock = None
        self._spool = None
        self._gave_up_socket = not self.addr
        self._number = 0
        self._acked = 0
        self._ack_buffer = b""
        self._unacked = collections.deque()  # (last record number, line) sent but not acknowledged
        self._closed = False

    def after_fork(self):
        self._reset()

    def put(self, record):
        if self._closed:
            return
        if len(self.buffer) >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self.buffer.append(record)
        if type(record) is dict and record.get("parent_run_id") is None and record.get("kind", "").endswith(
                ("_end", "_error")):
            self._urgent.set()
        if self._idle:
            self._wake_sender()

    def put_token(self, item):
        """`put` for a streamed token's tuple: nothing to look at but the buffer's room."""
        if len(self.buffer) >= QUEUE_LIMIT or self._closed:
            self.dropped += not self._closed
            return
        self.buffer.append(item)
        if self._idle:
            self._wake_sender()

    def _wake_sender(self):
        self._idle = False
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    try:
                        self._thread = _Thread(target=self._run, name="flowertui-probe", daemon=True)
                        self._thread.start()
                    except BaseException:  # no thread to be had: the events stay queued, the program goes on
                        self._thread = None
                        return
        self._wake.set()

    def drain(self, timeout):
        """Wait (bounded) until everything put so far has been sent or spooled."""
        self._control("drain", timeout)

    def close(self):
        """At exit: send or spool what is left, wait for the viewer's last acknowledgement (bounded)."""
        if not self._closed:
            if self._thread is not None:  # something was sent: the viewer learns the program exits with its handlers
                self.put({"t": "bye", "pid": _getpid()})
            self._control("close", EXIT_WAIT)
            self._closed = True

    def _control(self, what, timeout):
        if self._thread is None or not self._thread.is_alive():
            return
        done = _Event()
        self._controls.append((what, done))
        self._wake.set()
        done.wait(timeout)

    def _run(self):
        try:
            self._loop()
        except BaseException:  # never "Exception in thread flowertui-probe" on the program's stderr
            pass

    def _loop(self):
        while True:
            controls = []
            while self._controls:
                controls.append(self._controls.popleft())
            sent = len(self.buffer)
            try:
                self._urgent.clear()
                while self.buffer:  # everything put before the controls were read
                    batch = []
                    while self.buffer and len(batch) < BATCH:
                        batch.append(self.buffer.popleft())
                    self._ship(batch)
                if any(what == "close" for what, _ in controls):
                    self._finish()
            except BaseException:
                pass
            for what, done in controls:
                done.set()
                if what == "close":
                    return
            if self.buffer or self._controls:
                continue
            if sent >= BURST:  # the program is streaming fast: stay off its GIL a while longer
                self._urgent.wait(BURST_PAUSE)
                if self.buffer or self._controls:
                    continue
            self._idle = True
            if self.buffer or self._controls:
                continue
            self._wake.wait()
            self._wake.clear()
            _sleep(BATCH_PAUSE)  # let a batch gather instead of waking once per event

    def _ship(self, batch):
        """One line per batch: {"n": its number, "records": [...]}; a run's consecutive token tuples go in one
        `tokens` record.

        A line stays under LINE_LIMIT: a bigger batch goes as several lines, and a record bigger than that
        alone has its long texts cut (and says so) rather than being lost at the viewer."""
        texts = []
        run, monos, tokens, chars = None, [], [], 0
        for item in batch:
            if type(item) is tuple and item[0] == run and chars < TOKENS_CHARS:
                monos.append(item[1])
                tokens.append(item[2])
                chars += len(item[2])
                continue
            if tokens:
                texts.append(self._tokens(run, monos, tokens, chars))
            if type(item) is tuple:
                run, monos, tokens, chars = item[0], [item[1]], [item[2]], len(item[2])
            else:
                run, monos, tokens = None, [], []
                text = self._encode(item)
                texts.append(text if len(text) <= LINE_LIMIT else self._encode(_cut(item)))
        if tokens:
            texts.append(self._tokens(run, monos, tokens, chars))
        start, size = 0, 0
        for index, text in enumerate(texts):
            if size + len(text) > LINE_LIMIT and index > start:
                self._send_line(texts[start:index])
                start, size = index, 0
            size += len(text) + 1
        self._send_line(texts[start:])

    def _encode(self, record):
        return _json_dumps(self._redact_values(record), ensure_ascii=False, default=str)

    def _send_line(self, texts):
        self._number += 1
        head = '{"n":%d,"dropped":%d,"records":[' % (self._number, self.dropped)
        self.dropped = 0
        line = (head + ",".join(texts) + "]}\n").encode("utf-8", "replace")
        if self._sock is None and not self._gave_up_socket:
            self._connect()
        if self._sock is not None:
            try:
                self._unacked.append((self._number, line))
                self._sock.sendall(line)
                if len(self._unacked) > ACK_READ_EVERY:  # each syscall costs the program a GIL hand-off
                    self._read_acks(0)
                return
            except OSError:
                self._lose_viewer()
                return
        self._to_spool([line])

    def _connect(self):
        sock = None
        try:
            host, port = self.addr.rsplit(":", 1)
            sock = _create_connection((host, int(port)), timeout=2)
            sock = _above_stdio(sock)
            sock.settimeout(10)
            sock.sendall(("flowertui-probe %s %s %d %s %d\n" % (self.token, self.session_id, _getpid(), self.run,
                                                                 PROTOCOL)).encode())
            self._sock = sock
        except BaseException:
            self._gave_up_socket = True
            try:
                sock.close()
            except BaseException:
                pass

    def _read_acks(self, wait):
        while self._sock is not None:
            ready, _, _ = _select([self._sock], [], [], wait)
            if not ready:
                return
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("viewer closed the connection")
            self._ack_buffer += data
            *done, self._ack_buffer = self._ack_buffer.split(b"\n")
            for line in done:
                if line.startswith(b"ack ") and line[4:].isdigit():
                    self._acked = max(self._acked, int(line[4:]))
            while self._unacked and self._unacked[0][0] <= self._acked:
                self._unacked.popleft()
            if not self._unacked:
                return

    def _lose_viewer(self):
        """Spool what the viewer did not acknowledge; acks still unread in the socket buffer count, or batches it
        already stored would be imported a second time."""
        try:
            self._read_acks(0)
        except BaseException:
            pass
        try:
            self._sock.close()
        except BaseException:
            pass
        self._sock, self._gave_up_socket = None, True
        pending, self._unacked = [line for _, line in self._unacked], collections.deque()
        self._to_spool(pending)

    def _finish(self):
        """Last batch sent: wait for the viewer to acknowledge it all, or spool what it did not."""
        if self._sock is None:
            return
        deadline = _monotonic() + ACK_WAIT
        try:
            while self._unacked and _monotonic() < deadline:
                self._read_acks(max(0.0, deadline - _monotonic()))
        except BaseException:
            pass
        if self._unacked:
            self._lose_viewer()
            return
        try:
            self._sock.close()
        except BaseException:
            pass
        self._sock = None

    def _to_spool(self, lines):
        if not lines or not self.spool_dir:
            return
        try:
            if self._spool is None:
                _makedirs(self.spool_dir, mode=0o700, exist_ok=True)
                name = "%s.%s.%d.jsonl" % (self.session_id or "watch", self.run, _getpid())
                fd = _above_stdio_fd(_os_open(os.path.join(self.spool_dir, name),
                                              os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600))
                self._spool = fd
            for line in lines:
                view = memoryview(line)
                while view:
                    view = view[_os_write(self._spool, view):]
        except BaseException:
            pass

    def _tokens(self, run, monos, tokens, chars):
        """A run's consecutive streamed tokens as one record: their monotonic times in integer nanoseconds and
        both clocks read now, so the viewer has each one's wall time without a float formatted per token."""
        if chars > TOKENS_CHARS:  # one token that long (a group stops growing past TOKENS_CHARS)
            tokens = [t if len(t) <= TOKENS_CHARS else "%s [+%d chars cut]" % (t[:TOKENS_CHARS], len(t) - TOKENS_CHARS)
                      for t in tokens]
        if self._secrets:
            joined = "\x00".join(tokens)
            if any(secret in joined for secret in self._secrets):
                tokens = self._redact_values(tokens)
        return _json_dumps({"t": "tokens", "run_id": run, "clock": [_wall(), _monotonic_ns()], "mono_ns": monos,
                            "tokens": tokens}, ensure_ascii=False)

    def _redact_values(self, value):
        """The program's own secret values never leave it (a viewer of `watch()` does not know its environment,
        and the spool lies on disk until imported); only texts are rewritten, never a record's own keys."""
        if not self._secrets:
            return value
        if type(value) is str:
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, "[redacted]")
            return value
        if type(value) is dict:
            return {k: self._redact_values(v) for k, v in value.items()}
        if type(value) in (list, tuple):
            return [self._redact_values(v) for v in value]
        return value


def _cut(record):
    """A copy of the record with every text longer than FIELD_LIMIT cut, and `cut` saying by how much."""
    cut = [0]

    def shorten(value):
        if type(value) is str and len(value) > FIELD_LIMIT:
            cut[0] += len(value) - FIELD_LIMIT
            return value[:FIELD_LIMIT] + " [+%d chars cut]" % (len(value) - FIELD_LIMIT)
        if type(value) is dict:
            return {k: shorten(v) for k, v in value.items()}
        if type(value) in (list, tuple):
            return [shorten(v) for v in value]
        return value

    short = shorten(record)
    if type(short) is dict and type(short.get("payload")) is dict:
        short["payload"]["cut_chars"] = cut[0]
    return short


def _above_stdio_fd(fd):
    """The descriptor moved to 3 or above: a program that closed its stdout must not find the probe there."""
    if fd > 2:
        return fd
    try:
        return _fcntl(fd, _DUPFD, 3)
    finally:
        _os_close(fd)


def _above_stdio(sock):
    if sock.fileno() > 2:
        return sock
    fd = _fcntl(sock.fileno(), _DUPFD, 3)
    moved = _socket(sock.family, sock.type, sock.proto, fileno=fd)
    moved.settimeout(sock.gettimeout())
    sock.close()
    return moved
