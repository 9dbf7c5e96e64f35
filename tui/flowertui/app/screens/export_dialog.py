"""Export dialog: pick a format and a file; the app writes it and says where it went."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from flowertui.session.export import FORMATS

FORMAT_CHOICES = [(fmt.description, name) for name, fmt in FORMATS.items()]  # the one format registry


class ExportDialog(ModalScreen[tuple[str, Path] | None]):
    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="export.cancel")]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id

    def default_path(self, fmt: str) -> str:
        return str(Path.cwd() / f"flowertui-{self.session_id}.{fmt}")

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export this session", id="export-title")
            yield Select(FORMAT_CHOICES, value="jsonl", allow_blank=False, id="export-format")
            yield Input(self.default_path("jsonl"), id="export-path", select_on_focus=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")

    def on_select_changed(self, message: Select.Changed) -> None:
        path = self.query_one("#export-path", Input)
        if Path(path.value).stem == f"flowertui-{self.session_id}":
            path.value = str(Path(path.value).with_suffix(f".{message.value}"))

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self._finish()

    def on_button_pressed(self, message: Button.Pressed) -> None:
        if message.button.id == "export-go":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if path:
            self.dismiss((str(self.query_one("#export-format", Select).value), Path(path).expanduser()))
