"""CSV files that pair architectures with a number (a user's measurements, a labelled set):
reading them, and the per-row architecture and value, with one-line usage errors."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from hwnas.errors import HwnasUsageError


def read_csv(path: Path, columns_hint: str) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the UTF-8 CSV at ``path``; a one-line error that names
    ``columns_hint`` (e.g. "arch and accuracy") when it cannot be read."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise HwnasUsageError(f"cannot read {path} as CSV ({type(exc).__name__}); give a UTF-8 CSV with columns "
                              f"{columns_hint}") from None
    return header, rows


def arch_values(path: Path, rows: list[dict[str, str]], space: str, column: str
                ) -> Iterator[tuple[int, int, str, float]]:
    """(line, architecture index, raw text, value) of every row: the ``arch`` column parsed by
    ``space`` (index, arch string or op ids; an unknown one is a one-line error naming the line)
    and ``column`` as a float (NaN where it is not a number; the caller checks its range)."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): v for k, v in row.items()}
        text = (row.get("arch") or "").strip()
        try:
            index = sp.index(sp.parse(text))
        except HwnasUsageError as exc:
            raise HwnasUsageError(f"{path}: line {line}: unknown architecture {text!r} "
                                  f"({str(exc).split(';')[0]})") from None
        raw = (row.get(column) or "").strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        yield line, index, raw, value
