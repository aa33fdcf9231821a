"""One table type for every report: ``rich`` in a terminal, aligned plain text in files and pipes.

Example:
    >>> t = TextTable(["metric", "value"], [["f1", "0.5000"]])
    >>> print(t.plain())
    metric   value
    ------  ------
    f1      0.5000
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(frozen=True)
class TextTable:
    """Header and rows of already formatted cells; the first column is left-aligned, the others right.

    Args:
        header: Column names.
        rows: Cells, one list per row.
        title: Shown above the rich table (not in the plain text).
        left: Indexes of further left-aligned columns (e.g. free-text overrides).
    """

    header: list[str]
    rows: list[list[str]]
    title: str = ""
    left: frozenset[int] = field(default_factory=frozenset)

    def _is_left(self, i: int) -> bool:
        return i == 0 or i in self.left

    def plain(self) -> str:
        """Aligned plain text with a dashed rule under the header (for files, pipes and markdown code blocks)."""
        widths = [max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if self._is_left(i) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        return "\n".join([line(self.header), line(["-" * w for w in widths]), *map(line, self.rows)])

    def rich(self):
        """The same table as a :class:`rich.table.Table`."""
        from rich.table import Table

        table = Table(title=self.title or None, header_style="bold", show_lines=False)
        for i, name in enumerate(self.header):
            table.add_column(name, justify="left" if self._is_left(i) else "right", overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table

    def __str__(self) -> str:
        return self.plain()


def show(table: TextTable, *, file: TextIO | None = None) -> None:
    """Print ``table``: with rich when ``file`` (stdout by default) is a terminal, else as plain text."""
    file = file or sys.stdout
    if not file.isatty():
        print(table.plain(), file=file)
        return
    from rich.console import Console

    Console(file=file).print(table.rich())
