"""A plain-text table: a title, aligned columns with their units, and notes underneath."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    unit: str = ""  # shown in the header as "name (unit)"
    fmt: str = ""  # format spec for numbers, e.g. ".1f"; text is shown as is

    @property
    def header(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: a row needs {len(self.columns)} cells, got {len(cells)}")
        self.rows.append(list(cells))

    def render(self) -> str:
        cells = [[_cell(value, column) for value, column in zip(row, self.columns, strict=True)] for row in self.rows]
        numeric = [
            bool(self.rows) and all(isinstance(row[i], int | float) or row[i] is None for row in self.rows)
            for i in range(len(self.columns))
        ]
        widths = [max([len(c.header)] + [len(row[i]) for row in cells]) for i, c in enumerate(self.columns)]

        def line(values: list[str]) -> str:
            parts = [v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric, strict=True)]
            return "  ".join(parts).rstrip()

        rule = "  ".join("-" * w for w in widths)
        out = [self.title, "=" * len(self.title), line([c.header for c in self.columns]), rule]
        out += [line(row) for row in cells] or ["(no rows)"]
        out += [f"  * {note}" for note in self.notes]
        return "\n".join(out)


def _cell(value: Any, column: Column) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and column.fmt:
        return format(value, column.fmt)
    return str(value)
