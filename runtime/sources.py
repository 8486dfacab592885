"""Data sources: scikit-learn's datasets (no download) and files, each registered under its
registry entry. A file source reads `.npz` (each array a field), CSV (each column a field;
numbers where the cells parse, text otherwise) or Parquet, the tables through pyarrow, and
returns its fields, its labels and, where it knows them, each example's line in the file.
"""

from __future__ import annotations

import importlib
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

    def read(
        base: Path,
        origin: Span | None,
        path: str,
        label: str,
        fields: list[dict] | None = None,
        missing: str = "error",
    ):
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
        for group in fields or []:
            columns[group["name"]] = _group(columns, group, path)
        return columns, labels, lines

    return implements("source", fmt)(read)


def _group(columns: Columns, group: dict, file: str) -> np.ndarray:
    """A field of several columns: (examples, columns), in the order the file has them."""
    name, names = group["name"], list(columns)
    if name in columns:
        raise errors.RunError(
            errors.DATA_DUPLICATE_COLUMN,
            f"'{file}' already has a column named '{name}', the name of a group of columns",
            f'name the group otherwise, e.g. columns("{name}_group", ...)',
        )
    if group["prefix"] is not None:
        chosen = [c for c in names if c.startswith(group["prefix"])]
        if not chosen:
            raise errors.RunError(
                errors.DATA_FIELD_MISSING,
                f"no column of '{file}' starts with '{group['prefix']}' (group '{name}')",
                "give a prefix that begins some of the columns: "
                + ", ".join(repr(c) for c in names[:8])
                + (" ..." if len(names) > 8 else ""),
            )
    else:
        wanted = group["columns"] or [group["first"], group["last"]]
        for column in wanted:
            if column not in columns:
                raise errors.RunError(
                    errors.DATA_FIELD_MISSING,
                    f"'{file}' has no column '{column}' (group '{name}')",
                    suggestion_hint(column, names, "columns"),
                )
        if group["columns"]:
            chosen = wanted
        else:  # from first to last in the file's order, whichever comes first
            a, b = sorted((names.index(group["first"]), names.index(group["last"])))
            chosen = names[a : b + 1]
    wide = [c for c in chosen if columns[c].ndim != 1]
    if wide:
        raise errors.RunError(
            errors.DATA_SHAPE_MISMATCH,
            f"'{wide[0]}' of '{file}' has shape {columns[wide[0]].shape}: group '{name}' joins columns "
            "of one value per example",
            "group only one-value columns; an array of several values per example is a field already",
        )
    text = [c for c in chosen if columns[c].dtype.kind in "US"]
    if text:
        raise errors.RunError(
            errors.DATA_NOT_NUMERIC,
            f"column '{text[0]}' of '{file}' holds text, so it cannot join the numbers of group '{name}'",
            "leave text columns out of a group of columns (they are fields of their own)",
        )
    return np.stack([columns[c].astype(np.float32) for c in chosen], axis=1)


def _npz(path: Path, name: str) -> tuple[Columns, None]:
    with np.load(path, allow_pickle=False) as data:
        return {key: _numeric(data[key], key, name) for key in data.files}, None


def _csv(path: Path, name: str) -> tuple[Columns, np.ndarray | None]:
    """Each column a field; the header names them. Read by pyarrow's CSV reader (quoted cells may
    hold commas and newlines; blank lines are skipped); a row with more or fewer cells than the
    header, or two columns of one name, is an error. Cells are kept as written, then typed by
    `_numeric`, which knows the file line of each row for its messages."""
    pa_csv = _pyarrow("csv", "reading CSV")
    ragged: list[tuple[int, int]] = []

    def invalid(row) -> str:  # a row with the wrong number of cells: remember it, read on
        ragged.append((row.number, row.actual_columns))
        return "skip"

    table = pa_csv.read_csv(
        path,
        # The header is read as a row of its own, so every column is read as text, as written.
        read_options=pa_csv.ReadOptions(use_threads=False, autogenerate_column_names=True),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pa_csv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    cells = [["" if v is None else str(v) for v in column.to_pylist()] for column in table.columns]
    if not cells or not cells[0]:
        return {}, None
    header = [column[0] for column in cells]
    _unique_columns(header, name)
    starts = _record_lines(path)  # the file line each record starts on: records count from 1
    if ragged:
        number, found = ragged[0]
        others = f" (and {len(ragged) - 1} more rows)" if len(ragged) > 1 else ""
        raise errors.RunError(
            errors.DATA_RAGGED_ROWS,
            f"line {starts[number - 1]} of '{name}' has {found} cells, the header has {len(header)}{others}",
            "every row needs one cell per column: quote cells that contain commas, "
            "and leave missing values blank",
        )
    where = np.array(starts[1 : len(cells[0])], dtype=np.int64)
    columns = {
        column: _numeric(np.array(values[1:], dtype=str), column, name, where)
        for column, values in zip(header, cells, strict=True)
    }
    return columns, where


def _record_lines(path: Path) -> list[int]:
    """The line on which each non-blank record of a CSV file starts (a quoted cell may span lines):
    what messages name, since the table's rows do not say where they were written."""
    starts, quoted = [], False
    with path.open(encoding="utf-8-sig", newline="") as file:
        for number, line in enumerate(file, start=1):
            if not quoted and line.strip():
                starts.append(number)
            quoted ^= line.count('"') % 2 == 1
    return starts


def _pyarrow(module: str, what: str):
    try:
        return importlib.import_module(f"pyarrow.{module}")
    except ImportError:
        raise errors.RunError(
            errors.DATA_UNREADABLE,
            f"{what} needs the package pyarrow",
            "pip install 'homogc[parquet]' (or pip install pyarrow)",
        ) from None


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
