"""What the table benches share: print the table and its verdict lines, and write both (with the
command that made them) as JSON, atomically."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def emit(lines: list[str], verdict: list[str], rows: object, out: "str | None") -> None:
    """Print ``lines`` then ``verdict`` as a list; with ``out``, write {command, rows, verdict}."""
    print("\n".join(lines) + "\n\n" + "\n".join(f"- {v}" for v in verdict))
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"command": "python " + " ".join(sys.argv), "rows": rows, "verdict": verdict},
                                  indent=1))
        os.replace(tmp, path)


def emit_record(record: dict, out: "str | None") -> None:
    """Print ``record`` as indented JSON; with ``out``, also write it there, atomically."""
    text = json.dumps(record, indent=2)
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, path)
