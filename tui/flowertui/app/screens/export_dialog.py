"""Export dialog: pick a format and a file (offered in the documents folder); the app writes it in a worker.

It opens on the path, so `e` Enter exports; the format is the one used last this session, and a path typed with a
format's extension picks that format.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from flowertui.session.export import FORMATS

FORMAT_CHOICES = [(fmt.description, name) for name, fmt in FORMATS.items()]  # the one format registry


class ExportDialog(ModalScreen[tuple[str, Path, bool] | None]):
    """Returns (format, path, overwrite). A file that exists is replaced only after a second Enter."""

    BINDINGS = [Binding("escape", "dismiss", "cancel", id="export.cancel")]
    AUTO_FOCUS = "#export-path"

    def __init__(self, session_id: str, folder: Path, fmt: str = "jsonl") -> None:
        super().__init__()
        self.session_id = session_id
        self.folder = folder
        self.fmt = fmt if fmt in FORMATS else "jsonl"
        self._confirmed: Path | None = None  # the existing file the user agreed to replace

    def default_path(self, fmt: str) -> str:
        return str(self.folder / f"flowertui-{self.session_id}.{fmt}")

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export this session", id="export-title")
            yield Select(FORMAT_CHOICES, value=self.fmt, allow_blank=False, id="export-format")
            yield Input(self.default_path(self.fmt), id="export-path", select_on_focus=False)
            yield Static("", id="export-warning", markup=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")
        yield Footer()

    def on_select_changed(self, message: Select.Changed) -> None:
        path = self.query_one("#export-path", Input)
        if Path(path.value).stem == f"flowertui-{self.session_id}":
            path.value = str(Path(path.value).with_suffix(f".{message.value}"))

    def on_input_changed(self, message: Input.Changed) -> None:
        typed = Path(message.value.strip()).suffix.lstrip(".").lower()
        if typed in FORMATS:  # the path names its format
            self.query_one("#export-format", Select).value = typed
        if self._confirmed is not None:  # another file: ask again if it exists
            self._confirmed = None
            self._warn("")

    async def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()  # Enter here is the dialog's, never a chat message
        await self._finish()

    async def on_button_pressed(self, message: Button.Pressed) -> None:
        if message.button.id == "export-go":
            await self._finish()
        else:
            self.dismiss(None)

    async def _finish(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            return
        path = Path(text).expanduser()
        fmt = str(self.query_one("#export-format", Select).value)
        if path == self._confirmed:
            self.dismiss((fmt, path, True))
        elif await asyncio.to_thread(path.is_file):  # a stat, off the event loop all the same
            self._confirmed = path
            self._warn(f"{path.name} exists. Press Enter or Overwrite again to replace it, or change the name.")
        else:
            self.dismiss((fmt, path, False))

    def _warn(self, text: str) -> None:
        self.query_one("#export-warning", Static).update(text)
        self.query_one("#export-warning").display = bool(text)
        self.query_one("#export-go", Button).label = "Overwrite" if text else "Export"
