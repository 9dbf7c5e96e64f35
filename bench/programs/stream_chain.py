"""A program streaming N tokens through a prompt | model chain; prints its own wall and CPU seconds last.

    python stream_chain.py [--tokens 2000] [--noop] [--pace SECONDS] [--result FILE]

The model is a minimal local chat model (no network) that yields one chunk per
token, so LangChain fires on_llm_new_token for each; `--noop` passes a handler
that does nothing with each callback, the baseline a traced run is held to.
CPU time counts every thread of the program (the probe's sender included).
"""

import argparse
import gc
import time

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate


class Streamer(BaseChatModel):
    tokens: int = 2000
    pace: float = 0.0  # seconds between tokens (0: as fast as possible)

    @property
    def _llm_type(self) -> str:
        return "bench-streamer"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        return ChatResult(generations=[ChatGeneration(message=AIMessage(" tok" * self.tokens))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for _ in range(self.tokens):
            if self.pace:
                time.sleep(self.pace)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=" tok"))
            if run_manager:
                run_manager.on_llm_new_token(" tok", chunk=chunk)
            yield chunk


class NoOp(BaseCallbackHandler):
    def on_llm_new_token(self, token, **kwargs):
        pass


parser = argparse.ArgumentParser()
parser.add_argument("--tokens", type=int, default=2000)
parser.add_argument("--noop", action="store_true")
parser.add_argument("--pace", type=float, default=0.0, help="seconds between tokens")
parser.add_argument("--result", help="also write the timings to this file (when stdout goes to a screen)")
args = parser.parse_args()
chain = ChatPromptTemplate.from_template("Tell me about {x}") | Streamer(tokens=args.tokens, pace=args.pace)
config = {"callbacks": [NoOp()]} if args.noop else {}
gc.collect()  # a gen-2 collection falling inside the window depends on start-up allocations, not on tracing
started, cpu_started = time.perf_counter(), time.process_time()
pieces = sum(1 for _ in chain.stream({"x": "flowers"}, config=config))
took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
assert pieces >= args.tokens, pieces  # LangChain may add one empty closing chunk
print(f"{took:.6f} {cpu:.6f}")
if args.result:
    with open(args.result, "w") as handle:
        handle.write(f"{took:.6f} {cpu:.6f}\n")
