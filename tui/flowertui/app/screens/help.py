"""What each pane shows and which key does what, for someone opening flowertui the first time."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

CHAT_PANES = """\
# flowertui

A flower-shop conversation run through LangChain's `ConversationChain`, with its callbacks made visible.

**Conversation** (left): your messages and the shop's replies, streamed as they arrive.
The line under it says what is happening now and names the provider, model, memory kind and session;
what went wrong is written in the conversation. Below 120 columns the three panes on the right sit behind
tabs under the conversation: **p** shows the next one.

**Callback events** (right, top): one line per callback, in order. Indentation follows the run tree
(`parent_run_id`); colour gives the family (chain, chat model, llm, error, app). The badge says how the
handler was attached: `req` passed with the request (inherited by every child run), `ctor` given to a
constructor (sees only that object's runs — here the summariser of summary memories), `ctx` from a context
manager. `⚙` marks memory maintenance (summariser calls). Token events fold into one line per run.
Select a line and press Enter to see its whole payload.

**Token stream** (right, middle): the raw pieces of the current reply, alternately shaded so each
boundary shows, with time to first token, tokens per second and counts.

**Token counter** (right, bottom): per memory kind, the last turn's prompt, completion, maintenance and
total tokens; `Σ turns`, exactly which turns its totals count (e.g. `1–3, 5`); the cumulative tokens and cost;
and a plot of cumulative tokens per turn, one colour per kind, its legend under it. Marks: `~` estimate
(compare mode counts the prompt a kind would have sent; a cancelled reply counts its prompt and what had
streamed), `?` usage not reported, `…` reply in progress, `✗` failed turn, `↻` a catch-up is counted.

Memory kinds only differ once a conversation outgrows them. `window` keeps the last 2 turns, so over
the lesson's three turns it sends what `buffer` sends; the fourth turn of the `lesson` script and the
ten-turn `week` script (`flowertui run --script week --memory all`) show `window` and `token_buffer`
forgetting the first visit while their prompts stop growing. Switching to `summary` or `summary_buffer`
(or turning compare mode on) first runs the summariser over the whole transcript: the status line says
it is catching up and then what it cost, and those tokens count in that kind's totals (`↻`).

# Keys

Keys work when the message box is not focused: press **Esc** to leave it; start typing to return to it.
The memory, compare and theme keys also work while you type, with **alt** (**alt+1**…**alt+5**, **alt+m**,
**alt+c**, **alt+t**, as the footer shows them), mid-reply too: a memory or compare switch pressed while a
reply streams applies from the next turn, and says so at once. **Esc** cancels a reply, or a memory's catch-up,
in flight. In an empty message box **?** opens this help.

Every key is also a command in the palette (**ctrl+p**), and every key can be remapped by its id in the
config file's `[keymap]` table (a remapped memory, compare or theme key keeps its alt form). A key name
that is not one, an id no command has, or a key claimed by two commands is named when flowertui starts
and ignored: each command concerned keeps its default key. The table below shows the keys in force.
"""


TRACE_PANES = """\
# flowertui trace

Another Python program, run with flowertui's probe inside it: its LangChain callbacks made visible.

**Program console** (left): the program's stdout and stderr as they come (`err│` marks stderr), shown
literally; at least the last 5,000 lines are kept. A line typed in the box goes to the program's stdin (`›│`).
The line under the console gives the state (running, exited N, killed by a signal), the command, the pid,
the run, the elapsed time, whether LangChain has been seen, and the session.

**Callback events** (right, top): one line per callback of the program, in order, indented by run.
After the name, every handler of the program that received the event, badged by how it was attached:
`ctor:` given to a constructor (that object's runs only; `verbose=True` is one), `req:` passed with the
request (inherited by every child run), `ctx:` registered by a context manager such as
`get_openai_callback`. The scope column abbreviates them `c`, `r`, `x`. A handler that raised shows as a
`handler_error` line: LangChain only logs those. Enter on a line lists the receivers, the errors on that
event and, where usage is missing, how to get it.

**Token stream** (right, middle): the pieces of the model reply being streamed.

**Counter** (right, bottom): tokens and cost per model, and per top-level run (the outermost chain,
graph or model call). `?` usage not reported (tiktoken estimate), `…` run in progress.

# Keys

Keys work when the input box is not focused: press **Esc** to leave it; start typing to return to it.
"""


PANES = {"chat": CHAT_PANES, "trace": TRACE_PANES}  # by the app's session kind


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close", id="help.close")]

    def __init__(self, keys: list[tuple[str, str]], panes: str) -> None:
        """`panes`: what the app's panes show."""
        super().__init__()
        self.keys = keys
        self.panes = panes

    def compose(self) -> ComposeResult:
        table = "\n".join(f"| `{key}` | {does} |" for key, does in self.keys)
        with VerticalScroll(id="help-box"):
            yield Markdown(self.panes + "\n| key | does |\n| --- | --- |\n" + table)
        yield Footer()
