"""Data sources: scikit-learn's datasets (no download) and files, each registered under its
registry entry. A file source reads `.npz` (each array a field), CSV (each column a field;
numbers where the cells parse, text otherwise) or Parquet (with the optional `pyarrow`), and
returns its fields, its labels and, where it knows them, each example's line in the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from homog.dsl.diagnostics import suggestion_hint
from homog.dsl.syntax import Span

from . import errors
from .data import shown_rows
from .registry import implements

Columns = dict[str, np.ndarray]


def _sklearn(loader: str, image: bool = False):
    def read(base: Path, origin: Span | None) -> tuple[Columns, np.ndarray]:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)()
        fields = {"features": bunch.data.astype(np.float32)}
        if image:
            fields["image"] = bunch.images.astype(np.float32)
        return fields, bunch.target

    return read


implements("source", "sklearn.digits")(_sklearn("load_digits", image=True))
implements("source", "sklearn.iris")(_sklearn("load_iris"))
implements("source", "sklearn.wine")(_sklearn("load_wine"))
implements("source", "sklearn.breast_cancer")(_sklearn("load_breast_cancer"))


def _file(fmt: str, reader):
    """A source read from a file: its columns are fields, `label` the label. A reader returns the
    columns and, where it knows them, the file line of each example (for messages)."""

    def read(base: Path, origin: Span | None, path: str, label: str):
        found = (base / path).resolve()
        if not found.is_file():
            raise errors.RunError(
                errors.DATA_FILE_MISSING,
                f"no data file '{path}' (looked for {found})",
                "paths are relative to the spec's folder",
                origin,
            )
        try:
            columns, lines = reader(found, path)
        except errors.RunError as error:
            raise error.located(origin) from error.__cause__
        except Exception as error:  # a malformed file, whatever the reader's exception
            raise errors.RunError(
                errors.DATA_UNREADABLE,
                f"cannot read '{path}' as {fmt}: {error}",
                f"check the {fmt} file",
                origin,
            ) from None
        if label not in columns:
            raise errors.RunError(
                errors.DATA_FIELD_MISSING,
                f"'{path}' has no label field '{label}'",
                suggestion_hint(label, columns, "fields"),
                origin,
            )
        labels = columns.pop(label)
        return columns, labels, lines

    return implements("source", fmt)(read)


def _npz(path: Path, name: str) -> tuple[Columns, None]:
    with np.load(path, allow_pickle=False) as data:
        return {key: _numeric(data[key], key, name) for key in data.files}, None


def _csv(path: Path, name: str) -> tuple[Columns, np.ndarray | None]:
    """Each column a field; the header names them. Blank lines are skipped; a row with more or fewer
    cells than the header, or two columns of one name, is an error."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            return {}, None
        _unique_columns(header, name)
        body, lines, ragged = [], [], []
        previous = reader.line_num
        for row in reader:
            start, previous = previous + 1, reader.line_num  # a quoted cell may span lines
            if not row:
                continue
            if len(row) != len(header):
                ragged.append((start, len(row)))
            body.append(row)
            lines.append(start)
    if ragged:
        line, cells = ragged[0]
        others = f" (and {len(ragged) - 1} more rows)" if len(ragged) > 1 else ""
        raise errors.RunError(
            errors.DATA_RAGGED_ROWS,
            f"line {line} of '{name}' has {cells} cells, the header has {len(header)}{others}",
            "every row needs one cell per column: quote cells that contain commas, "
            "and leave missing values blank",
        )
    where = np.array(lines, dtype=np.int64)
    columns = {
        column: _numeric(np.array([row[i] for row in body], dtype=str), column, name, where)
        for i, column in enumerate(header)
    }
    return columns, where


def _parquet(path: Path, name: str) -> tuple[Columns, None]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise errors.RunError(
            errors.DATA_UNREADABLE,
            "reading Parquet needs the optional package pyarrow",
            "pip install 'homogc[parquet]'",
        ) from None
    _unique_columns(pq.read_schema(path).names, name)
    table = pq.read_table(path)
    return {
        column: _numeric(np.asarray(table.column(i).to_numpy()), column, name)
        for i, column in enumerate(table.column_names)
    }, None


def _unique_columns(names: list[str], file: str) -> None:
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if column in seen:
            raise errors.RunError(
                errors.DATA_DUPLICATE_COLUMN,
                f"'{file}' has two columns named '{column}' (columns {seen[column]} and {position})",
                "rename one of them: each column is a field, named by its header",
            )
        seen[column] = position


_file("npz", _npz)
_file("csv", _csv)
_file("parquet", _parquet)


def _numeric(values: np.ndarray, column: str, file: str, lines: np.ndarray | None = None) -> np.ndarray:
    """Numbers as float32 where every value parses; text (or integer labels) as they are.

    A 1-D column of text whose non-blank cells all parse is numeric, its blank (or null) cells
    missing values (NaN). One whose cells mostly parse, with some that do not, is an error naming
    them; otherwise the column is text."""
    if values.dtype.kind in "iub":
        return values
    if values.dtype.kind == "f":
        return values.astype(np.float32)
    try:
        return values.astype(np.float64).astype(np.float32)
    except (ValueError, TypeError):
        pass
    if values.ndim != 1:
        return values.astype(str)
    cells = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values])
    blank = np.char.strip(cells) == "" if len(cells) else np.zeros(0, dtype=bool)
    parsed = np.full(len(cells), np.nan)
    bad = []
    for row in np.flatnonzero(~blank):
        try:
            parsed[row] = float(cells[row])
        except ValueError:
            bad.append(row)
    numbers = int((~blank).sum()) - len(bad)
    if not bad and numbers:
        return parsed.astype(np.float32)
    if bad and numbers > len(bad):
        rows = np.array(bad)
        shown = ", ".join(repr(str(cells[r])) for r in rows[:3])
        raise errors.RunError(
            errors.DATA_NOT_NUMERIC,
            f"column '{column}' of '{file}' holds numbers, but "
            + (f"{len(rows)} of its cells are not numbers" if len(rows) > 1 else "one cell is not a number")
            + f" ({shown} at {shown_rows(rows, lines, shown=3)})",
            "fix those cells, or leave them blank for a missing value (then drop or impute the rows)",
        )
    return cells
