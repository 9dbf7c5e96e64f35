"""The apps' commands, defined once: the bindings, the footer, the help table and the command palette read them.

One table for both apps; each command names the apps it belongs to, and each app takes its own set in
table order (`commands("chat")`, `commands("trace")`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from flowertui.engine.kinds import KINDS

MEMORY_HELP = {
    "buffer": "keeps the whole transcript",
    "window": "keeps the last k exchanges",
    "summary": "keeps a running summary written by the model",
    "summary_buffer": "recent turns verbatim, older ones summarised",
    "token_buffer": "the most recent turns that fit a token limit",
}


@dataclass(frozen=True)
class Command:
    id: str  # the binding id a `[keymap]` entry names
    key: str
    action: str
    footer: str  # short, so the footer fits 100 columns (`f` and `k` are named in the events pane's header)
    title: str  # the command palette's name for it
    help: str  # what it does, for the help table and the palette
    show: bool = True
    key_display: str | None = None
    priority: bool = False
    apps: frozenset[str] = frozenset({"chat", "trace"})  # the apps that bind it

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.footer, show=self.show, key_display=self.key_display,
                       priority=self.priority, tooltip=self.help, id=self.id)


CHAT, TRACE = frozenset({"chat"}), frozenset({"trace"})

COMMANDS: tuple[Command, ...] = (
    *(Command(f"memory.{kind}", str(n), f"memory('{kind}')", "memory", f"Memory: {kind}",
              f"memory kind {kind}: {MEMORY_HELP[kind]} (the transcript carries over)", show=n == 1,
              key_display="1-5" if n == 1 else None, apps=CHAT) for n, kind in enumerate(KINDS, start=1)),
    Command("memory.cycle", "m", "cycle_memory", "next", "Next memory kind", "switch to the next memory kind",
            show=False, apps=CHAT),
    Command("compare", "c", "compare", "compare", "Compare mode", "compare mode on/off: all five kinds get every turn",
            apps=CHAT),
    # `flowertui trace`: the program can be restarted and stopped; `flowertui lesson N` shows its source.
    Command("trace.restart", "r", "restart", "restart", "Restart program",
            "restart the program: a new run in the same session (a running one is stopped first)", apps=TRACE),
    Command("trace.stop", "s", "stop", "stop", "Stop program", "stop the program: SIGINT, then SIGTERM", apps=TRACE),
    Command("trace.interrupt", "ctrl+c", "interrupt", "int", "Interrupt program",
            "SIGINT to the program, as ctrl+c in a terminal; a second ctrl+c within 2 s quits flowertui",
            apps=TRACE, priority=True),
    Command("lesson.source", "v", "toggle_source", "source", "Example source",
            "`flowertui lesson N`: show or hide the example's source beside the console", apps=TRACE),
    Command("cancel", "escape", "cancel", "cancel", "Cancel reply",
            "cancel the reply in flight; otherwise leave the message box so the keys work", apps=CHAT),
    Command("cancel", "escape", "cancel", "keys", "Leave input", "leave the input box so the keys work", apps=TRACE),
    Command("export", "e", "export", "export", "Export session", "export the session (jsonl, md, html, log)"),
    Command("pane.next", "p", "next_pane", "pane", "Next side pane",
            "below 120 columns: show the next side pane (events, tokens, counter)"),
    Command("theme.next", "t", "next_theme", "theme", "Next theme",
            "next flower theme (the palette's \"Theme\" picks one by name)"),
    Command("events.filter", "f", "cycle_filter", "filter", "Events filter",
            "event filter: all / no tokens / errors / maintenance", show=False),
    Command("events.tokens", "k", "toggle_tokens", "tokens", "Every token event",
            "show every token event, or fold them per run", show=False),
    Command("clear", "ctrl+l", "clear", "clear", "Clear panes", "clear the panes (the session keeps its data)"),
    Command("help", "question_mark", "help", "help", "Help", "what each pane shows, and every key"),
    Command("quit", "ctrl+q", "quit", "quit", "Quit", "quit flowertui", priority=True),
)


def commands(app: str) -> tuple[Command, ...]:
    """The commands one app binds, in table order."""
    return tuple(command for command in COMMANDS if app in command.apps)

