"""The raw tokens of the current reply, boundaries shown by alternating shades, with live rates.

The shown text is kept as Textual `Content` spans whose two styles are made once per theme: a Rich `Text` would
have every span's style looked up and converted again on each frame (≈ a third of the app's CPU while streaming).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content, Span
from textual.style import Style
from textual.widgets import Static

from flowertui.engine.events import Event

# Older tokens of a huge reply are counted, not drawn: the pane re-wraps all it shows on every frame, so
# what it shows is capped in characters (a server may send 200-character pieces), not only in pieces.
SHOWN_TOKENS = 4000
SHOWN_CHARS = 1200


class TokenStream(Vertical):
    """Follows the active memory's main reply; memory upkeep streams are not mixed in."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._reset("no reply yet")

    def compose(self) -> ComposeResult:
        yield Static(id="token-stats")
        with VerticalScroll(id="token-scroll"):
            yield Static(id="token-text")

    def on_mount(self) -> None:
        if not self.children:  # the app closed as the pane was mounting (base.py mounts it after the first frame)
            return
        self._make_shades()
        self.query_one("#token-scroll").anchor()
        self._draw()

    def add(self, events: list[Event]) -> None:
        changed = False
        for event in events:
            changed |= self._take(event)
        if changed:
            self._draw()

    def _take(self, event: Event) -> bool:
        if event.maintenance:
            return False
        if event.kind == "turn_start":
            self._reset("waiting for first token")
        elif event.counted_token and self.state in ("waiting for first token", "streaming"):
            if self.first is None:
                self.first, self.ttft = event.mono, event.since_run_start
                self.state = "streaming"
            self.last = event.mono
            self.tokens.append(event.payload.token)
            self._shade(len(self.tokens) - 1)
            if len(self.tokens) - self._hidden > 2 * SHOWN_TOKENS or self._length > 2 * SHOWN_CHARS:
                self.reshade()
        elif event.kind == "llm_end":
            usage = event.payload.usage
            self.reported = usage.output_tokens if usage else None
            self.state = "done" if usage else "done · usage missing"
        elif event.kind in ("turn_error", "turn_cancelled"):
            self.state = "failed" if event.kind == "turn_error" else "cancelled"
        else:
            return False
        return True

    @property
    def rate(self) -> float | None:
        if self.first is None or self.last is None or self.last <= self.first or len(self.tokens) < 2:
            return None
        return (len(self.tokens) - 1) / (self.last - self.first)

    def _draw(self) -> None:
        stats = Text.assemble(
            ("TTFT ", "dim"), f"{self.ttft * 1000:.0f} ms" if self.ttft is not None else "—",
            (" · ", "dim"), f"{self.rate:.0f}" if self.rate else "—", (" tok/s · ", "dim"),
            str(len(self.tokens)), (" pieces · ", "dim"),
            str(self.reported) if self.reported is not None else "—", (" tokens · ", "dim"),
            (self.state, "italic"),
            no_wrap=True, overflow="ellipsis",
        )
        self.query_one("#token-stats", Static).update(stats)
        self.query_one("#token-text", Static).update(self._text)

    @property
    def _text(self) -> Content:
        """What the pane shows: the shaded pieces, under a dim note of the earlier ones when a huge reply is cut."""
        content = Content(self._head + "".join(self._parts), self._spans)
        return content.stylize_before("dim") if self._head else content

    def _shade(self, index: int) -> None:
        """Append one token on the shade its position gives it."""
        piece = self.tokens[index].replace("\n", "↵\n")
        start = self._length
        self._length += len(piece)
        self._parts.append(piece)
        self._spans.append(Span(start, self._length, self._shades[index % 2]))

    def _make_shades(self) -> None:
        """The two shades' styles, from the theme in force (as a Rich `on COLOUR` style converts to)."""
        app = self.app
        self._shades = tuple(Style.from_rich_style(app.console.get_style(
            f"on {app.theme_variables.get(name, 'grey23')}"), app.ansi_theme) for name in ("ft-token-a", "ft-token-b"))

    def reshade(self) -> None:
        """Rebuild the shaded text (theme change, or trimming a huge reply to its last tokens)."""
        self._make_shades()
        self._hidden, chars = len(self.tokens), 0
        while self._hidden > self._cleared and len(self.tokens) - self._hidden < SHOWN_TOKENS and chars < SHOWN_CHARS:
            self._hidden -= 1
            chars += len(self.tokens[self._hidden])
        earlier = self._hidden - self._cleared
        self._start_text(f"… {earlier} earlier tokens\n" if earlier else "")
        for index in range(self._hidden, len(self.tokens)):
            self._shade(index)
        if self.is_mounted:
            self._draw()

    def _start_text(self, head: str = "") -> None:
        self._head, self._parts, self._spans, self._length = head, [], [], len(head)

    def _reset(self, state: str) -> None:
        self.tokens: list[str] = []
        self.first = self.last = self.ttft = None
        self.reported: int | None = None
        self._start_text()
        self._hidden = 0
        self._cleared = 0  # tokens of this reply cleared from the pane (still counted)
        self.state = state

    def clear(self) -> None:
        """Clear the pane; a reply still streaming goes on being shown and counted from where it is."""
        if self.state in ("waiting for first token", "streaming"):
            self._cleared = self._hidden = len(self.tokens)
            self._start_text()
        else:
            self._reset("cleared")
        self._draw()
