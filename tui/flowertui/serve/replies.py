"""What the offline assistant answers to a checked request, with usage counted by tiktoken.

The reply text is the offline chat model's (engine/shop_replies: same prompt, same
reply), cut at a stop word and at `max_tokens`, in the streaming pieces the
offline model uses. Tokens are counted with the encoding tiktoken uses for the
requested model, prompt tokens of a chat the way OpenAI documents it (3 per
message, 1 per name, 3 to prime the reply), so client-side estimates agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowertui.engine import tokens
from flowertui.engine.shop_replies import cut_at_stop, reply_for
from flowertui.serve.bodies import ChatRequest, CompletionRequest, Message, Options

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3


@dataclass(frozen=True)
class Choice:
    index: int
    text: str
    pieces: tuple[str, ...]
    finish_reason: str  # "stop", or "length" when max_tokens cut the reply


@dataclass(frozen=True)
class Answer:
    model: str
    choices: tuple[Choice, ...]
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def answer_chat(request: ChatRequest) -> Answer:
    """n identical choices replying to the last message, as the offline chat model does."""
    options = request.options
    choice = _choice(reply_for(request.messages[-1].content), options)
    choices = tuple(Choice(i, choice.text, choice.pieces, choice.finish_reason) for i in range(options.n))
    said = tokens.count_tokens(choice.text, options.model)
    return Answer(options.model, choices, chat_prompt_tokens(request.messages, options.model), said * options.n)


def answer_completion(request: CompletionRequest) -> Answer:
    """n choices per prompt, numbered prompt by prompt as the legacy API numbers them."""
    options = request.options
    choices: list[Choice] = []
    completion = 0
    for prompt in request.prompts:
        choice = _choice(reply_for(prompt), options)
        completion += tokens.count_tokens(choice.text, options.model) * options.n
        first = len(choices)
        choices += [Choice(first + i, choice.text, choice.pieces, choice.finish_reason) for i in range(options.n)]
    sent = sum(tokens.count_tokens(prompt, options.model) for prompt in request.prompts)
    return Answer(options.model, tuple(choices), sent, completion)


def chat_prompt_tokens(messages: tuple[Message, ...], model: str) -> int:
    """Prompt tokens of a chat request, counted as OpenAI's cookbook counts them."""
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + tokens.count_tokens(message.role, model) + tokens.count_tokens(message.content, model)
        if message.name:
            total += TOKENS_PER_NAME + tokens.count_tokens(message.name, model)
    return total


def _choice(reply: str, options: Options) -> Choice:
    text = cut_at_stop(reply, list(options.stop))
    limited = _limit(text, options.max_tokens, options.model)
    finish = "length" if limited != text else "stop"
    return Choice(0, limited, tuple(tokens.split_tokens(limited, options.model)), finish)


def _limit(text: str, max_tokens: int | None, model: str) -> str:
    """The text cut to at most max_tokens tokens, never in the middle of a character."""
    if max_tokens is None or tokens.count_tokens(text, model) <= max_tokens:
        return text
    kept: list[str] = []
    used = 0
    for piece in tokens.split_tokens(text, model):
        used += tokens.count_tokens(piece, model)
        if used > max_tokens:
            break
        kept.append(piece)
    while kept and tokens.count_tokens("".join(kept), model) > max_tokens:
        kept.pop()
    return "".join(kept)
