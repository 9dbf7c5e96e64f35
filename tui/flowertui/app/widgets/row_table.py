"""A `DataTable` whose rows can change one at a time.

Textual's `update_cell` bumps the table's cache generation, so the next frame renders every visible row again
(each cell through Rich: ≈ 0.15–0.3 ms a cell), and so does `add_row`. The events table's folded token row changes
in every frame of a stream, and the counter's active row at each step of a turn: `update_row` redraws that row alone.
The events table gains a row with most events that are not tokens: `append_row` renders the new row alone.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


class RowTable(DataTable):
    def update_row(self, key: str, cells: dict[str, Text]) -> None:
        """Change cells of one shown row and redraw that row alone.

        Textual 8 has no public way to change one row only; this uses the table's private cell data and render
        caches (its cells by (generation, row index), rendered rows and cells by row key first, lines by line
        number): tests/app/test_speed_paths.py fails if they change."""
        row = RowKey(key)
        index = self.get_row_index(row)
        for column, value in cells.items():
            self._data[row][ColumnKey(column)] = value
        self._row_renderable_cache.discard((self._update_count, index))
        for cache in (self._row_render_cache, self._cell_render_cache):
            for cached in [cached for cached in cache.keys() if cached[0] == row]:
                cache.discard(cached)
        self._line_cache.clear()  # made again from the rows' caches: only this row is rendered
        self.refresh_row(index)

    def append_row(self, *cells: Text, key: str) -> None:
        """Add a row at the end; the rows shown already are not rendered again.

        `add_row` bumps the cache generation, which every cached cell render is keyed by: the cells of the other
        rows, whose places and contents an appended row does not change, are kept under the new generation (the
        private caches `update_row` uses)."""
        before = self._update_count
        self.add_row(*cells, key=key)
        after = self._update_count
        cache = self._cell_render_cache
        for cached in [cached for cached in cache.keys() if cached[6] == before]:
            cache.set((*cached[:6], after, *cached[7:]), cache.get(cached))
