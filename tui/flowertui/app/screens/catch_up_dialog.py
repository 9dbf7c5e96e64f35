"""Asked before a costly catch-up: a summarising memory is about to read earlier turns through a priced model."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from flowertui.engine.prices import format_cost


def describe(plan) -> str:
    """The estimate in a user's words: which memories, how many turns, ≈ tokens and ≈ cost."""
    kinds = ", ".join(plan.kinds)
    turns = f"{plan.turns} earlier turn{'s' * (plan.turns != 1)}"
    return (f"{kinds} must first summarise {turns}: ≈{plan.tokens:,} tokens, "
            f"≈{format_cost(plan.cost, plan.currency)}.")


class CatchUpDialog(ModalScreen[bool]):
    """Returns True to pay for the catch-up, False to go without it."""

    DEFAULT_CSS = """
    CatchUpDialog { align: center middle; }
    #catch-up-box { width: 72; height: auto; border: round $warning; background: $surface; padding: 1 2; }
    #catch-up-buttons { height: auto; margin-top: 1; }
    #catch-up-buttons Button { margin-right: 2; }
    """

    AUTO_FOCUS = "#catch-up-yes"  # Textual focuses it once mounted (a query in on_mount failed when answered first)
    BINDINGS = [Binding("y", "answer(True)", "catch up", id="catch_up.yes"),
                Binding("n,escape", "answer(False)", "not now", id="catch_up.no")]

    def __init__(self, plan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="catch-up-box"):
            yield Label("Catch up this memory?", id="catch-up-title")
            yield Static(describe(self.plan), id="catch-up-estimate", markup=False)
            with Horizontal(id="catch-up-buttons"):
                yield Button("Catch up", variant="primary", id="catch-up-yes")
                yield Button("Not now", id="catch-up-no")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, message: Button.Pressed) -> None:
        self.dismiss(message.button.id == "catch-up-yes")
