"""A recorded session as a cassette: `flowertui serve --replay SESSION` answers with the recorded replies.

A session holds every model call LangChain reported (chat_model_start or llm_start, then llm_end or
llm_error): the reply's text, its tool calls, the model that answered, the usage, the streamed pieces.
Each request gets one recorded call: the first not yet replayed whose prompt is the request's (compared
as recorded: each message's first PROMPT_CHARS characters, whitespace collapsed), else the next one in
the order the calls started, and the log line says `mismatch`. A program that does what it did gets the
same replies with the same usage, gathered concurrent calls included, so a `flowertui diff` of the two
runs shows no token delta. A recorded failure is answered as that failure; a request past the last
call is a 409 naming the session and the call, which clients are told not to retry.

What was recorded is what is replayed: texts were cleaned (escapes and secrets) and cut at TEXT_LIMIT
when stored; a cut reply is sent as far as it was kept (a streamed one whole, from its pieces) with
an `x-flowertui-replay-cut` header saying how many characters are missing.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flowertui.engine import tokens
from flowertui.engine.events import (CHAT_MODEL_START, LLM_END, LLM_ERROR, LLM_NEW_TOKEN, LLM_START, ChatModelStart,
                                     Event, LlmEnd, LlmError, LlmNewToken, LlmStart, SessionKind, ToolCall, Usage)
from flowertui.engine.normalise import TEXT_LIMIT
from flowertui.engine.sanitize import strip_escapes
from flowertui.serve.bodies import BadRequest, ChatRequest, CompletionRequest
from flowertui.serve.replies import Answer, Call, Choice

PROMPT_CHARS = 200  # characters of each prompt message compared with the recording's
SHOWN_CHARS = 80  # characters of a request's model name in a log line
MAX_COUNT = 10**12  # a token count above this is not a count
CUT = re.compile(r"… \[\+(\d+) chars\]\Z")  # the mark sanitize.truncate leaves on a text it cut
FINISHES = ("stop", "length", "tool_calls", "function_call", "content_filter")
# what the recorded failure's exception class is answered with; others get 500
STATUS_OF = {"BadRequestError": 400, "AuthenticationError": 401, "PermissionDeniedError": 403, "NotFoundError": 404,
             "UnprocessableEntityError": 422, "RateLimitError": 429, "InternalServerError": 500}
NO_RETRY = {"x-should-retry": "false"}  # the OpenAI SDKs honour it: a replayed refusal is not asked again


class CassetteError(ValueError):
    """A session that cannot be replayed (unknown, unreadable, malformed): the one-line message says why."""


class Refused(BadRequest):
    """A request the cassette answers with an error: the recorded failure, or one past the last call."""

    def __init__(self, message: str, status: int, code: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, {**NO_RETRY, **headers}


@dataclass(frozen=True)
class Recorded:
    """One recorded model call, as it is answered again."""

    number: int  # 1-based, in the order the calls started
    api: str  # "chat" (chat_model_start) or "completion" (llm_start)
    asked: str | None  # the model the program asked for
    model: str | None  # the model that answered
    prompt: tuple[str, ...]  # what requests are matched on (see fingerprint)
    text: str
    cut: int  # characters of the reply (text and tool arguments) the recording left out (0: whole)
    pieces: tuple[str, ...]  # the streamed pieces as recorded (empty: not streamed, or not joinable)
    calls: tuple[ToolCall, ...]
    finish: str | None
    usage: Usage | None
    error: str | None = None  # the call failed: its recorded error (and exception class)
    error_type: str | None = None


def fingerprint(texts: Iterable[str]) -> tuple[str, ...]:
    """A prompt as compared with a recording's: each message's first characters, whitespace collapsed."""
    return tuple(" ".join(strip_escapes(text).split())[:PROMPT_CHARS] for text in texts)


class Cassette:
    """The recorded calls of one session, handed out one per request (thread-safe: requests run in workers)."""

    def __init__(self, name: str, calls: list[Recorded], *, described: str = "", unfinished: int = 0,
                 log: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.calls = calls
        self.described = described  # what was recorded, for the banner: trace/COMMAND, provider/model
        self.unfinished = unfinished  # calls that started but never ended (not replayed)
        self.log = log
        self._pending = list(calls)
        self._requests = 0
        self._lock = threading.Lock()

    def chat(self, request: ChatRequest) -> Answer:
        """The recorded reply to a chat completions or Responses API request."""
        options = request.options
        found = self._take("chat", options.model, [m.content for m in request.messages])
        model = found.model or options.model
        calls = tuple(Call(self._call_id(found, index), call.name, call.arguments,
                           tuple(tokens.split_tokens(call.arguments, model))) for index, call in enumerate(found.calls))
        finish = found.finish if found.finish in FINISHES else "tool_calls" if calls else "stop"
        if request.functions_api and finish == "tool_calls":
            finish = "function_call"
        pieces = found.pieces or tuple(tokens.split_tokens(found.text, model))
        choices = tuple(Choice(index, found.text, pieces, finish, calls) for index in range(options.n))
        return self._answer(model, choices, [found], request.functions_api)

    def completion(self, request: CompletionRequest) -> Answer:
        """The recorded replies to a legacy completions request: one recorded call per prompt."""
        options = request.options
        found = [self._take("completion", options.model, [prompt]) for prompt in request.prompts]
        model = found[0].model or options.model
        choices: list[Choice] = []
        for recorded in found:
            finish = recorded.finish if recorded.finish in FINISHES else "stop"
            pieces = recorded.pieces or tuple(tokens.split_tokens(recorded.text, model))
            choices += [Choice(len(choices) + i, recorded.text, pieces, finish) for i in range(options.n)]
        return self._answer(model, tuple(choices), found, False)

    def _take(self, api: str, model: str, prompt: list[str]) -> Recorded:
        """The call this request replays: refused when it is past the last one or is a recorded failure."""
        key = fingerprint(prompt)
        with self._lock:
            self._requests += 1
            request = self._requests
            found = next((call for call in self._pending if call.prompt == key), None)
            notes = [] if found is not None or not self._pending else ["the prompt differs from the recording's"]
            found = found or (self._pending[0] if self._pending else None)
            if found is not None:
                self._pending.remove(found)
        if found is None:
            self._say(f"replay: request {request}: past the last recorded call ({len(self.calls)}): answered 409")
            raise Refused(f"flowertui serve --replay: session {self.name} recorded {len(self.calls)} model calls and "
                          f"all were replayed; request {request} is past the end of the recording (the program made "
                          "more calls than the recorded run)", 409, "replay_exhausted", self._where(request, None))
        if found.api != api:
            notes.append(f"a {api} request, recorded as a {found.api} call")
        if found.asked and model != found.asked:
            notes.append(f"model {_shown(model)}, recorded {_shown(found.asked)}")
        usage = f"{found.usage.input_tokens}+{found.usage.output_tokens} tokens" if found.usage else "no usage recorded"
        said = f"failed as recorded ({_shown(found.error_type or 'error')})" if found.error is not None else usage
        cut = f" · cut: {found.cut} characters were not recorded" if found.cut else ""
        mismatch = f" · mismatch: {'; '.join(notes)}" if notes else ""
        self._say(f"replay: request {request}: call {found.number}/{len(self.calls)} {api} "
                  f"{_shown(found.model or model)} {said}{cut}{mismatch}")
        if found.error is not None:
            raise Refused(f"flowertui serve --replay: call {found.number} of session {self.name} failed when recorded: "
                          f"{found.error}", STATUS_OF.get(found.error_type or "", 500), "replayed_error",
                          self._where(request, found))
        return found

    def _answer(self, model: str, choices: tuple[Choice, ...], found: list[Recorded], functions_api: bool) -> Answer:
        usages = [call.usage for call in found if call.usage is not None]
        headers = self._where(None, found[0])
        cut = sum(call.cut for call in found)
        if cut:
            headers["x-flowertui-replay-cut"] = str(cut)
        return Answer(model, choices, sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages),
                      functions_api, usage_reported=bool(usages),
                      cached_tokens=sum(u.cached_input_tokens or 0 for u in usages),
                      reasoning_tokens=sum(u.reasoning_tokens or 0 for u in usages),
                      headers=tuple(headers.items()), recorded_total=sum(u.total_tokens for u in usages))

    def _where(self, request: int | None, found: Recorded | None) -> dict[str, str]:
        at = f" call {found.number}/{len(self.calls)}" if found is not None else f" past call {len(self.calls)}"
        value = f"{self.name}{at}" + (f" request {request}" if request is not None else "")
        return {"x-flowertui-replay": value.encode("ascii", "backslashreplace").decode()}

    def _call_id(self, found: Recorded, index: int) -> str:
        """The same id on every replay of this session, so two replayed runs send the same follow-up requests."""
        return "call_" + hashlib.sha256(f"{self.name}/{found.number}/{index}".encode()).hexdigest()[:24]

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log(line)


def _shown(text: str) -> str:
    """A name from a request or a file, safe for one log line."""
    return strip_escapes(text).replace("\n", " ").replace("\t", " ")[:SHOWN_CHARS] or "''"


# reading a session ----------------------------------------------------------------------------------


def load(ref: str, database: Path, log: Callable[[str], None] | None = None) -> Cassette:
    """`latest`, a session id (or prefix) or a JSONL export, as a cassette; CassetteError says why not."""
    from flowertui.session.replay import load_session

    if not Path(ref).is_file() and not ref.endswith(".jsonl") and not database.exists():
        raise CassetteError(f"no session {ref!r} to replay: no sessions are recorded in {database.parent}")
    try:
        data = load_session(ref, database)
    except RecursionError:
        raise CassetteError(f"cannot read {ref} as a flowertui JSONL export: it nests too deep") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise CassetteError(str(exc)) from None
    name = _shown(str(data.header.get("session_id") or Path(ref).name))  # it goes into headers and log lines
    try:
        calls, unfinished = recorded_calls(data.events)
        kind = data.kind
    except CassetteError as exc:
        raise CassetteError(f"cannot replay {ref}: {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a hostile file's shapes
        raise CassetteError(f"cannot replay {ref}: malformed events ({type(exc).__name__})") from None
    if kind == SessionKind.TRACE:
        described = f"trace/{_shown(str(data.header.get('command') or '?'))}"
    else:
        described = f"{_shown(str(data.header.get('provider') or '?'))}/{_shown(str(data.header.get('model') or '?'))}"
    return Cassette(name, calls, described=described, unfinished=unfinished, log=log)


def recorded_calls(events: list[Event]) -> tuple[list[Recorded], int]:
    """Every model call that ended, in the order the calls started; and how many never ended."""
    starts: dict[str, Event] = {}
    ends: dict[str, Event] = {}
    pieces: dict[str, list[str]] = {}
    for event in events:
        run_id = event.run_id
        if event.kind in (CHAT_MODEL_START, LLM_START, LLM_END, LLM_ERROR, LLM_NEW_TOKEN):
            if not isinstance(run_id, str):
                raise CassetteError(f"event {_seq(event)} ({event.kind}) has no run id")
            if event.kind == LLM_NEW_TOKEN:
                token = event.payload.token if isinstance(event.payload, LlmNewToken) else None
                pieces.setdefault(run_id, []).append(_string(token, event, "token"))
            elif event.kind in (CHAT_MODEL_START, LLM_START):
                starts.setdefault(run_id, event)
            else:
                ends.setdefault(run_id, event)
    calls: list[Recorded] = []
    unfinished = 0
    for run_id, start in starts.items():
        end = ends.get(run_id)
        if end is None:
            unfinished += 1
            continue
        calls.append(_recorded(len(calls) + 1, start, end, [p for p in pieces.get(run_id, ()) if p]))
    return calls, unfinished


def _recorded(number: int, start: Event, end: Event, pieces: list[str]) -> Recorded:
    began = start.payload
    if isinstance(began, ChatModelStart):
        api, prompt = "chat", [_string(m.content, start, "messages[].content") for m in began.messages or ()]
    elif isinstance(began, LlmStart):
        api, prompt = "completion", [_string(p, start, "prompts[]") for p in began.prompts or ()]
    else:
        raise CassetteError(f"event {_seq(start)} ({start.kind}) has no payload of its kind")
    asked = _optional(began.model, start, "model")
    ended = end.payload
    if isinstance(ended, LlmError):
        return Recorded(number, api, asked, None, fingerprint(prompt), "", 0, (), (), None, None,
                        error=_string(ended.error, end, "error"), error_type=_optional(ended.type, end, "type"))
    if not isinstance(ended, LlmEnd):
        raise CassetteError(f"event {_seq(end)} ({end.kind}) has no payload of its kind")
    text, cut = _kept(_string(ended.text, end, "text"))
    streamed = "".join(pieces)
    if cut and streamed.startswith(text) and len(streamed) > len(text):
        text, cut = streamed, 0  # a cut reply that streamed is whole in its pieces
    elif streamed != text:
        pieces = []  # not streamed, or the pieces do not make the recorded text: it is split again
    calls = []
    for call in ended.tool_calls or ():
        if not isinstance(call, ToolCall):
            raise CassetteError(f"event {_seq(end)} (llm_end): a tool call is not an object")
        arguments, left_out = _kept(_string(call.arguments, end, "tool_calls[].arguments"))
        calls.append(ToolCall(name=_string(call.name, end, "tool_calls[].name"), arguments=arguments))
        cut += left_out
    return Recorded(number, api, asked, _optional(ended.model, end, "model"), fingerprint(prompt), text, cut,
                    tuple(pieces), tuple(calls), _optional(ended.finish_reason, end, "finish_reason"),
                    _usage(ended.usage, end))


def _kept(text: str) -> tuple[str, int]:
    """A recorded text without the mark of its cut, and how many characters the cut left out."""
    mark = CUT.search(text)
    if mark and mark.start() == TEXT_LIMIT:
        return text[:TEXT_LIMIT], int(mark.group(1))
    return text, 0


def _usage(usage: Usage | None, event: Event) -> Usage | None:
    if usage is None:
        return None
    counts = {name: getattr(usage, name) for name in ("input_tokens", "output_tokens", "total_tokens",
                                                       "cached_input_tokens", "reasoning_tokens")}
    for name, value in counts.items():
        if value is None and name in ("cached_input_tokens", "reasoning_tokens"):
            continue
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            raise CassetteError(f"event {_seq(event)} (llm_end): usage.{name} is not a token count")
    return usage


def _string(value: object, event: Event, where: str) -> str:
    if not isinstance(value, str):
        raise CassetteError(f"event {_seq(event)} ({event.kind}): {where} is not text")
    return value


def _optional(value: object, event: Event, where: str) -> str | None:
    return None if value is None else _string(value, event, where)


def _seq(event: Event) -> str:
    return str(event.seq) if type(event.seq) is int else "?"
