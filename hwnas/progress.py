"""The progress bar of long work (rich, on stderr): description, bar, done/total, elapsed, ETA and
a free ``status`` field."""

from __future__ import annotations


def progress_bar(enabled: bool, auto_refresh: bool = True):
    """A rich `Progress` (a no-op when not ``enabled``); tasks need a ``status`` field.
    ``auto_refresh=False`` starts no refresh thread (for timing loops)."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
        console=Console(stderr=True), disable=not enabled, transient=False, auto_refresh=auto_refresh,
    )
