"""The apps' commands, defined once: the bindings, the footer, the help table and the command palette read them.

One table for both apps; each command names the apps it belongs to, and each app takes its own set in
table order (`commands("chat")`, `commands("trace")`). `resolve_keymap` checks a user's `[keymap]` against it
once, and every place that shows a key (footer, help, palette, the message box's placeholder) reads the result.

Keys that change memory or the theme (`typing=True`) are also bound with `alt+`: a single-letter key is typed
into the message box while it has the focus, the alt form works there too, mid-reply included.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import KEY_NAME_REPLACEMENTS, Keys, format_key, key_to_character

from flowertui.engine.kinds import KINDS

MEMORY_HELP = {
    "buffer": "keeps the whole transcript",
    "window": "keeps the last k exchanges",
    "summary": "keeps a running summary written by the model",
    "summary_buffer": "recent turns verbatim, older ones summarised",
    "token_buffer": "the most recent turns that fit a token limit",
    "agent_window": "LangChain 1.x: an agent whose trim_messages sends the last k exchanges",
    "agent_tokens": "LangChain 1.x: an agent whose trim_messages sends what fits a token limit",
    "agent_summary": "LangChain 1.x: an agent whose SummarizationMiddleware summarises past a token limit",
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
    typing: bool = False  # also bound as alt+KEY, which works while the message box has the focus
    tight: bool = True  # shown in the footer below 100 columns too (where it has room for fewer keys)

    def keys(self, key: str | None = None) -> list[str]:
        """The keys bound to it when `key` (default: its own) is its key: with the alt form, that one first."""
        key = key or self.key
        return [f"alt+{key}", key] if self.typing and len(key) == 1 and key.isalnum() else [key]

    def binding(self) -> Binding:
        return Binding(",".join(self.keys()), self.action, self.footer, show=self.show, key_display=self.key_display,
                       priority=self.priority, tooltip=self.help, id=self.id)


CHAT, TRACE = frozenset({"chat"}), frozenset({"trace"})

COMMANDS: tuple[Command, ...] = (
    *(Command(f"memory.{kind}", str(n), f"memory('{kind}')", "memory", f"Memory: {kind}",
              f"memory kind {kind}: {MEMORY_HELP[kind]} (the transcript carries over)", show=n == 1,
              apps=CHAT, typing=True) for n, kind in enumerate(KINDS, start=1)),
    Command("memory.cycle", "m", "cycle_memory", "next", "Next memory kind", "switch to the next memory kind",
            show=False, apps=CHAT, typing=True),
    Command("compare", "c", "compare", "compare", "Compare mode", "compare mode on/off: every memory kind gets every turn",
            apps=CHAT, typing=True),
    # `flowertui trace`: the program can be restarted and stopped; `flowertui lesson N` shows its source.
    Command("trace.restart", "r", "restart", "restart", "Restart program",
            "restart the program: a new run in the same session (a running one is stopped first)", apps=TRACE),
    Command("trace.stop", "s", "stop", "stop", "Stop program", "stop the program: SIGINT, then SIGTERM", apps=TRACE),
    Command("trace.interrupt", "ctrl+c", "interrupt", "int", "Interrupt program",
            "SIGINT to the program, as ctrl+c in a terminal; a second ctrl+c within 2 s quits flowertui",
            apps=TRACE, priority=True),
    Command("trace.audit", "a", "audit", "audit", "Audit at the wire",
            "`flowertui trace --audit`: each HTTP call the proxy saw beside its callback run, and what disagrees",
            apps=TRACE),
    Command("lesson.source", "v", "toggle_source", "source", "Example source",
            "`flowertui lesson N`: show or hide the example's source beside the console", apps=TRACE),
    Command("cancel", "escape", "cancel", "cancel", "Cancel reply",
            "cancel the reply or memory catch-up in flight; otherwise leave the message box so the keys work",
            apps=CHAT),
    Command("cancel", "escape", "cancel", "keys", "Leave input", "leave the input box so the keys work", apps=TRACE),
    Command("export", "e", "export", "export", "Export session", "export the session (jsonl, md, html, log)"),
    Command("pane.next", "p", "next_pane", "pane", "Next side pane",
            "below 120 columns: show the next side pane (events, tokens, counter)"),
    Command("theme.next", "t", "next_theme", "theme", "Next theme",
            "next flower theme (the palette's \"Theme\" picks one by name)", typing=True, tight=False),
    Command("events.filter", "f", "cycle_filter", "filter", "Events filter",
            "event filter: all / no tokens / errors / maintenance", show=False),
    Command("events.tokens", "k", "toggle_tokens", "tokens", "Every token event",
            "show every token event, or fold them per run", show=False),
    Command("clear", "ctrl+l", "clear", "clear", "Clear panes", "clear the panes (the session keeps its data)",
            tight=False),
    Command("help", "question_mark", "help", "help", "Help", "what each pane shows, and every key"),
    Command("quit", "ctrl+q", "quit", "quit", "Quit", "quit flowertui", priority=True),
)


MEMORY_IDS = tuple(f"memory.{kind}" for kind in KINDS)  # shown in the footer as one key, `1-8`
DIALOG_IDS = {"export.cancel", "detail.close", "help.close"}  # the dialogs' own bindings, remappable too
MODIFIERS = {"ctrl", "alt", "shift", "super", "meta", "hyper"}
KEY_NAMES = {key.value for key in Keys}


def commands(app: str) -> tuple[Command, ...]:
    """The commands one app binds, in table order."""
    return tuple(command for command in COMMANDS if app in command.apps)


def valid_key(key: str) -> bool:
    """A key Textual can report: modifiers, then one character, a named key (`escape`, `f5`) or a character's
    name (`question_mark`)."""
    *modifiers, base = key.split("+")
    if not base or not set(modifiers) <= MODIFIERS:
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    return base in KEY_NAMES or key_to_character(base) is not None


@dataclass(frozen=True)
class ResolvedKeys:
    """The keys in force for one app's commands, after the user's `[keymap]`: what is bound and what is shown."""
    keys: dict[str, list[str]]  # command id -> its keys, the one to show first
    changed: dict[str, str]  # the app's commands the user remapped: id -> keys ("alt+x,x")
    dialogs: dict[str, str]  # the dialogs' bindings the user remapped, as Textual's set_keymap takes them
    problems: list[str]  # each remap refused, in words

    def display(self, command_id: str) -> str:
        """The key shown for a command, as Textual shows it (`^l`, `?`, `alt+1`); the memory keys as a range."""
        if command_id == MEMORY_IDS[0] and all(i in self.keys for i in MEMORY_IDS):
            firsts = [self.keys[i][0] for i in MEMORY_IDS]
            typed = [self.keys[i][-1] for i in MEMORY_IDS]
            if typed == [str(n) for n in range(1, len(MEMORY_IDS) + 1)]:
                return f"{show_key(firsts[0])}-{len(MEMORY_IDS)}"  # `alt+1-8`
            return "/".join(show_key(key) for key in firsts)
        return show_key(self.keys[command_id][0])

    def both(self, command_id: str) -> str:
        """Every key of a command, for the help table: `1 · alt+1`."""
        return " · ".join(show_key(key) for key in reversed(self.keys[command_id]))


def show_key(key: str) -> str:
    """A key as Textual's footer shows it: `ctrl+l` as `^l`, `question_mark` as `?`."""
    *modifiers, base = key.split("+")
    base = format_key(base)
    if "ctrl" in modifiers:
        modifiers.remove("ctrl")
        base = f"^{base}"
    return "+".join([*modifiers, base])


def resolve_keymap(app: str, keymap: dict[str, str]) -> ResolvedKeys:
    """The user's keymap checked against one app's commands.

    A key name Textual cannot report, or an id no command has, is named and ignored (its command keeps its
    default key). A key claimed by two commands is named with both ids and neither gets it from a remap:
    each keeps its default key (repeated until no two commands share a key).
    """
    own = {command.id: command for command in commands(app)}
    known = {command.id for command in COMMANDS} | DIALOG_IDS
    problems: list[str] = []
    wanted: dict[str, list[str]] = {}
    dialogs: dict[str, str] = {}
    for command_id, value in keymap.items():
        if command_id not in known:
            problems.append(f"unknown id {command_id!r} (ids: {', '.join(sorted(known))})")
            continue
        keys = [key.strip() for key in value.split(",")]
        bad = [key for key in keys if not valid_key(key)]
        if bad:
            problems.append(f"{command_id} = {value!r}: {', '.join(repr(key) for key in bad)} is not a key name; "
                            "it keeps its default key")
        elif command_id in DIALOG_IDS:
            dialogs[command_id] = ",".join(_long(key) for key in keys)
        elif command_id in own:
            bound = [k for key in keys for k in own[command_id].keys(_long(key))]
            if bound != own[command_id].keys():
                wanted[command_id] = bound
    while True:
        keys = {i: wanted.get(i, own[i].keys()) for i in own}
        owners: dict[str, list[str]] = {}
        for command_id, bound in keys.items():
            for key in bound:
                owners.setdefault(key, []).append(command_id)
        clashes = {key: ids for key, ids in owners.items() if len(ids) > 1 and any(i in wanted for i in ids)}
        if not clashes:
            break
        for key, ids in clashes.items():
            problems.append(f"{show_key(key)} is claimed by {' and '.join(ids)}; each keeps its default key")
            for command_id in ids:
                wanted.pop(command_id, None)
    return ResolvedKeys(keys, {i: ",".join(keys[i]) for i in wanted}, dialogs, problems)


def _long(key: str) -> str:
    """A one-character key by Textual's name for it (`?` is `question_mark`), as its bindings hold it."""
    *modifiers, base = key.split("+")
    if len(base) == 1 and not base.isalnum():
        base = unicodedata.name(base, base).lower().replace("-", "_").replace(" ", "_")
    return "+".join([*modifiers, KEY_NAME_REPLACEMENTS.get(base, base)])



def readme_table(app: str) -> str:
    """README's key table for an app's default keys (tests/unit/test_readme_keys.py checks README holds it)."""
    rows = ["| key | does |", "| --- | --- |"]
    own = commands(app)
    memory = [c for c in own if c.id in MEMORY_IDS]
    if memory:
        kinds = ", ".join(c.id.split(".", 1)[1] for c in memory)
        rows.append(f"| `{memory[0].key}`…`{memory[-1].key}`, `alt+{memory[0].key}`…`alt+{memory[-1].key}` | "
                    f"memory kind {kinds} (the transcript carries over) |")
    for command in own:
        if command.id not in MEMORY_IDS:
            keys = ", ".join(f"`{_readable(key)}`" for key in reversed(command.keys()))
            rows.append(f"| {keys} | {command.help} |")
    return "\n".join(rows)


def _readable(key: str) -> str:
    """A key as README writes it: `?` for question_mark, names for the rest."""
    *modifiers, base = key.split("+")
    character = key_to_character(base) if len(base) > 1 else None
    if character is not None and character.isprintable():
        base = character
    return "+".join([*modifiers, base])
