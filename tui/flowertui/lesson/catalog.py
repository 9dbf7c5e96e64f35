"""The registry of the lesson's programs: number, titles, what to watch, and the files themselves.

One table read by `flowertui lesson` (the list), the runner and the README. The
programs are plain scripts in programs/, ported to LangChain 1.x with the
lesson's names, Chinese prompts and printed lines kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class LessonError(ValueError):
    """No such example, or its file cannot be written where asked."""


@dataclass(frozen=True)
class Example:
    number: int
    file: str
    title_zh: str
    title_en: str
    watch: str
    """One line on what to look at while it runs."""
    note: str
    """A few sentences: what the example teaches and what flowertui shows of it."""
    uses_model: bool = True
    writes: tuple[str, ...] = ()

    def source(self) -> str:
        return resources.files("flowertui.lesson").joinpath("programs", self.file).read_text("utf-8")

    def path(self) -> Path:
        """The installed file, for running it as a script."""
        return Path(str(resources.files("flowertui.lesson").joinpath("programs", self.file)))


EXAMPLES: tuple[Example, ...] = (
    Example(1, "01_callbacks.py", "回调函数和异步编程", "Callbacks and asyncio",
            "no LangChain yet: another_task starts while compute is asleep",
            "A callback is a function handed to another function, which calls it when done. The asyncio "
            "version shows why callbacks matter: while compute awaits, the event loop runs another_task.",
            uses_model=False),
    Example(2, "02_file_callback.py", "FileCallbackHandler、loguru 与 verbose=True", "FileCallbackHandler, loguru and verbose=True",
            "verbose=True prints the chain's events; FileCallbackHandler writes the same ones to output.log",
            "verbose=True is nothing but a stdout handler. The FileCallbackHandler given to LLMChain's "
            "constructor sees only the chain's own events (not its model's) and writes them to output.log, "
            "where loguru also appends the answer.",
            writes=("output.log",)),
    Example(3, "03_async_handlers.py", "自定义同步和异步回调处理器", "Custom sync and async handlers",
            "the async handler's 0.5 s sleeps: a gap from chat_model_start to the first token, another after llm_end",
            "A streaming ChatOpenAI with a sync handler (one line per token) and an async one whose "
            "on_llm_start and on_llm_end each sleep 0.5 s. agenerate awaits the async handler before it "
            "streams, so the first token comes 0.5 s after chat_model_start, and the program ends 0.5 s "
            "after llm_end."),
    Example(4, "04_token_counter.py", "用 get_openai_callback 构造令牌计数器", "Counting tokens with get_openai_callback",
            "three turns with buffer memory: the prompt grows each turn; the printed total equals the ledger's",
            "ConversationChain with ConversationBufferMemory over three turns inside get_openai_callback. "
            "Each turn's prompt carries the whole history, so prompt tokens grow; the total printed at the "
            "end is the sum of the provider's usage, the same number flowertui's ledger shows."),
    Example(5, "05_concurrent_calls.py", "并发交互中的令牌计数", "Counting concurrent calls",
            "three agenerate calls overlap in time; one get_openai_callback counts all three",
            "asyncio.gather runs three agenerate calls at once. Their runs interleave in the event view, "
            "and the one counter, shared across tasks, adds up all three usages."),
    Example(6, "06_memory_token_counts.py", "思考题1：各种记忆机制的令牌消耗", "Exercise 1: tokens per memory kind",
            "summary memories pay for extra summariser calls; window and token-buffer cap the history",
            "The counter of example 4 around each memory kind in turn: buffer, window (k=2), summary, "
            "summary-buffer and token-buffer (300 tokens). The summariser's calls go through the same "
            "model, so the counter and the ledger include them."),
    Example(7, "07_request_callbacks.py", "思考题2：请求回调与构造函数回调", "Exercise 2: request versus constructor callbacks",
            "the request handler reaches the chain and its child runs; the constructor handler only the model's run",
            "Example 3's MyFlowerShopSyncHandler stays in ChatOpenAI's constructor; the exercise's "
            "MyCallBackHandler is passed with the request (chain.run(callbacks=…), then "
            "invoke(config={'callbacks': …})). The request handler is inherited by every child run; "
            "the constructor one fires only on the model's own run. Both print every token."),
    Example(8, "08_agent_memory.py", "思考题1（LangChain 1.x）：create_agent 与中间件", "Exercise 1 the 1.x way: create_agent and middleware",
            "trimming sends fewer tokens each turn; the summarisation middleware's calls carry lc_source=summarization",
            "Exercise 1 again without the deprecated memory classes: create_agent with a checkpointer keeps the "
            "conversation, and middleware decides what the model is sent: trim_messages by messages, by tokens, or "
            "SummarizationMiddleware, whose own calls to the model are tagged lc_source=summarization. "
            "get_usage_metadata_callback counts each strategy's tokens, the same totals as flowertui's ledger."),
)


def example(number: int) -> Example:
    for item in EXAMPLES:
        if item.number == number:
            return item
    raise LessonError(f"no example {number}: choose 1 to {len(EXAMPLES)} (`flowertui lesson` lists them)")


def copy_to(item: Example, folder: Path, force: bool = False) -> Path:
    """Write the example's source into folder for the learner to edit; an existing file is kept unless force."""
    target = folder / item.file
    if target.exists() and not force:
        raise LessonError(f"{target} exists (--force overwrites it)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(item.source(), "utf-8")
    except OSError as exc:
        raise LessonError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
