"""`hwnas devices`: the device table.

Register with ``cli.add_command(devices_cmd)``. The work is
done by `hwnas.devices`; this module parses, calls and prints.

Three views of the same records:

* the default, compact view fits an 80-column terminal: name, kind, and per NAS-Bench-201
  metric how the cost of the 15,625 cells is obtained (measured / predicted by a shipped
  pre-trained predictor / estimated), then a short source; wider terminals also get the aliases;
* ``--wide``: every field in one table (aliases, batch, coverage of every space, source);
* ``--format csv|json``: every field for scripts, including notes and coverage details.

`nb201_coverage` says per metric what `hwnas pareto` will use: it mirrors the cost service's
preference order (measured > predicted > estimated, `hwnas.devices.costs`) from the measured
tables (shipped or registered), `available_pretrained("nb201")` and `ENERGY_DEVICES`, without
running any predictor.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from typing import Any

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
NB201_SIZE = 15_625
ALIASES_MIN_WIDTH = 120  # the compact view adds an aliases column from this terminal width on
SOURCE_LETTERS = {"measured": "m", "predicted": "p", "estimated": "e"}


def short_source(source: str) -> str:
    """``HW-NAS-Bench (ICLR 2021)`` -> ``HW-NAS-Bench``; ``BRP-NAS / Eagle (...)`` -> ``Eagle``."""
    text = source.split(" (")[0].strip()
    return text.split(" / ")[-1] if " / " in text else text


def nb201_coverage(dev, pretrained: "set[tuple[str, str]] | None" = None) -> dict[str, dict[str, Any]]:
    """Per metric of ``dev``: how many NB201 cells are measured, failed (not deployable), predicted,
    estimated or not covered, a compact ``summary`` (``all m``, ``1,999 m + p``, ``all e``,
    ``none``), whether `hwnas pareto` can use it (``usable``) and a one-line ``detail``."""
    import numpy as np

    from hwnas.devices import failed_archs, measured_column
    from hwnas.devices.energy import ENERGY_DEVICES
    from hwnas.devices.user import is_user_device

    if pretrained is None:
        from hwnas.predictors.pretrained import available_pretrained

        pretrained = set(available_pretrained("nb201"))
    out: dict[str, dict[str, Any]] = {}
    for metric in dev.metric_names:
        column = measured_column("nb201", dev, metric)
        failed = np.zeros(NB201_SIZE, dtype=bool)
        failed[failed_archs("nb201", dev, metric)] = True
        measured = int((np.isfinite(column) & ~failed).sum())
        n_failed = int(failed.sum())
        rest = NB201_SIZE - measured - n_failed
        counts = {"measured": measured, "failed": n_failed, "predicted": 0, "estimated": 0, "none": 0}
        if is_user_device(dev.name):  # your measurements + the few-shot adapter
            cov = dev.coverage_of("nb201", metric)
            counts["measured"] = cov[0].archs if cov else 0
            rest = NB201_SIZE - counts["measured"]
            counts["predicted"] = rest
        elif rest:
            if (dev.name, metric) in pretrained:
                counts["predicted"] = rest
            elif metric == "energy" and dev.name in ENERGY_DEVICES:
                counts["estimated"] = rest
            else:
                counts["none"] = rest
        details = [c.detail for c in dev.coverage_of("nb201", metric) if c.detail]
        detail = "; ".join(details) or _no_nb201_reason(dev)
        out[metric] = counts | {"summary": _summary(counts), "usable": counts["none"] == 0,
                                "detail": detail}
    return out


def _no_nb201_reason(dev) -> str:
    """Why a device without an nb201 coverage entry has none."""
    if dev.coverage_of("nb201"):
        return ""
    others = list(dict.fromkeys(c.space for c in dev.coverage))
    if others:
        return f"no nb201 data ({', '.join(others)} only)"
    return dev.notes or "no nb201 data"


def _summary(counts: dict[str, int]) -> str:
    measured = counts["measured"]
    rest = [SOURCE_LETTERS[k] for k in ("predicted", "estimated") if counts[k]]
    if measured == 0:
        return f"all {rest[0]}" if rest else "none"
    if not rest:
        return "all m" if counts["none"] == 0 else f"{measured:,} m only"
    return f"{measured:,} m + {rest[0]}"


def _records(devices) -> list[dict[str, Any]]:
    """Every field of every device, with its NB201 coverage, for csv/json."""
    from hwnas.predictors.pretrained import available_pretrained, pretrained_info

    pretrained = set(available_pretrained("nb201"))
    records = []
    for d in devices:
        cov = nb201_coverage(d, pretrained)
        for metric, c in cov.items():
            if c["predicted"]:
                try:
                    info = pretrained_info(d.name, metric, "nb201")
                    c["predictor"] = {"model": info.get("model"), "train_size": info.get("train_size"),
                                      "holdout": info.get("holdout")}
                except Exception as exc:  # a damaged predictor file: say so, list the rest
                    c["predictor"] = {"error": str(exc).splitlines()[0]}
            if c["estimated"]:
                c["estimate"] = "NB201 energy estimated from FBNet block power x latency (docs/energy.md)"
        records.append({
            "name": d.name, "aliases": list(d.aliases), "kind": d.kind, "description": d.description,
            "metrics": [{"metric": m, "unit": u} for m, u in d.metrics], "batch_size": d.batch_size,
            "source": d.source, "notes": d.notes,
            "coverage": [{"space": c.space, "metric": c.metric, "archs": c.archs, "detail": c.detail}
                         for c in d.coverage],
            "nb201": cov,
        })
    return records


def _csv(records: list[dict[str, Any]]) -> str:
    fields = ["name", "aliases", "kind", "description", "metrics", "batch_size", "source", "notes", "coverage",
              "coverage_detail"]
    for metric in ("latency", "energy"):
        fields += [f"nb201_{metric}_{k}" for k in ("summary", "measured", "failed", "predicted", "estimated",
                                                     "none", "detail")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in records:
        row: dict[str, Any] = {
            "name": r["name"], "aliases": ";".join(r["aliases"]), "kind": r["kind"], "description": r["description"],
            "metrics": ";".join(f"{m['metric']} ({m['unit']})" for m in r["metrics"]),
            "batch_size": "" if r["batch_size"] is None else r["batch_size"], "source": r["source"],
            "notes": r["notes"],
            "coverage": "; ".join(f"{c['space']} {c['metric']}: "
                                  + ("LUT" if c["archs"] is None else str(c["archs"])) for c in r["coverage"]),
            "coverage_detail": " | ".join(f"{c['space']} {c['metric']}: {c['detail']}" for c in r["coverage"]
                                          if c["detail"]),
        }
        for metric, c in r["nb201"].items():
            for k in ("summary", "measured", "failed", "predicted", "estimated", "none", "detail"):
                row[f"nb201_{metric}_{k}"] = c[k]
        writer.writerow(row)
    return buf.getvalue()


@click.command("devices", context_settings=CONTEXT)
@click.option("--kind", default=None, help="Only devices of this kind: GPU, CPU, phone, accelerator, FPGA, simulator.")
@click.option("--wide", is_flag=True, help="Every column (aliases, batch, coverage of every space); needs a wide "
                                           "terminal.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"], case_sensitive=False), default="table",
              show_default=True, help="csv / json: every field (aliases, notes, coverage details) for scripts.")
def devices_cmd(kind: str | None, wide: bool, fmt: str) -> None:
    """List the target devices and how each one's NAS-Bench-201 costs are obtained.

    The default view fits 80 columns: per metric, how the costs of the 15,625 NB201 cells come
    about (m measured, p predicted by a shipped pre-trained predictor, e estimated). `--wide`
    adds aliases, batch size and the coverage of every space; `--format csv|json` writes every
    field. Any alias works wherever a device is asked for.

    \b
    Examples:
      hwnas devices
      hwnas devices --kind phone
      hwnas devices --wide
      hwnas devices --format json > devices.json
    """
    from hwnas.devices import KINDS, all_devices
    from hwnas.errors import HwnasUsageError

    devices = all_devices()
    if kind is not None:
        wanted = {k.lower(): k for k in KINDS}.get(kind.strip().lower())
        if wanted is None:
            raise HwnasUsageError(f"unknown device kind {kind!r}; use one of: {', '.join(KINDS)}")
        devices = [d for d in devices if d.kind == wanted]
    fmt = fmt.lower()
    if fmt == "json":
        click.echo(json.dumps(_records(devices), indent=2))
    elif fmt == "csv":
        click.echo(_csv(_records(devices)), nl=False)
    elif wide:
        _print_wide(devices)
    else:
        _print_compact(devices)


def _print_compact(devices) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from hwnas.predictors.pretrained import available_pretrained

    console = Console()
    pretrained = set(available_pretrained("nb201"))
    with_aliases = console.width >= ALIASES_MIN_WIDTH
    table = Table(title="target devices: how nb201 costs are obtained", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1, 0, 0), show_edge=False, title_justify="left")
    table.add_column("name", no_wrap=True)
    if with_aliases:
        table.add_column("aliases")
    table.add_column("kind", no_wrap=True)
    sep = " " if with_aliases else "\n"  # narrow terminals: units under the metric name
    table.add_column(f"latency{sep}(ms)", no_wrap=True)
    table.add_column(f"energy{sep}(mJ)", no_wrap=True)
    table.add_column("source")
    missing: dict[str, list[str]] = {}  # reason -> device names
    for d in devices:
        cov = nb201_coverage(d, pretrained)
        cells = [d.name] + ([escape(", ".join(d.aliases))] if with_aliases else []) + [d.kind]
        reasons: dict[str, list[str]] = {}
        for metric in ("latency", "energy"):
            c = cov.get(metric)
            cells.append("-" if c is None else c["summary"])
            if c is not None and not c["usable"]:
                reasons.setdefault(c["detail"] or "no nb201 data", []).append(metric)
        for reason, metrics in reasons.items():
            missing.setdefault(f"{' and '.join(metrics)}: {reason}", []).append(d.name)
        cells.append(escape(short_source(d.source)))
        table.add_row(*cells)
    console.print(table)
    lines = [
        "m measured, p predicted by a shipped pre-trained predictor, e estimated (docs/energy.md); "
        "'1,999 m + p': 1,999 of the 15,625 cells measured, the rest predicted; '-': no such metric.",
    ]
    if missing:
        lines.append("none / 'm only': not usable by hwnas pareto yet:")
    for reason, names in missing.items():
        lines.append(f"- {', '.join(names)}: {reason}")
    lines.append("Aliases, batch, FBNet/OFA coverage: --wide; all fields, notes: --format json.")
    for line in lines:
        indent = "  " if line.startswith("- ") else ""
        for part in textwrap.wrap(line, width=max(console.width, 40), subsequent_indent=indent,
                                  break_on_hyphens=False):
            console.print(part, markup=False, highlight=False, soft_wrap=True)
    _print_registered(console)


def _print_wide(devices) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="target devices")
    for column in ("name", "aliases", "kind", "metrics", "batch", "coverage (archs)", "source"):
        table.add_column(column)
    for d in devices:
        metrics = ", ".join(f"{m} ({u})" for m, u in d.metrics)
        batch = "-" if d.batch_size is None else str(d.batch_size)
        table.add_row(d.name, escape(", ".join(d.aliases)), d.kind, metrics, batch, escape(d.coverage_text()),
                      escape(d.source))
    console = Console()
    console.print(table)
    console.print("batch '-': not stated by the source. Coverage counts measured archs (LUT: HW-NAS-Bench's FBNet "
                  "block table prices any architecture); what is predicted or estimated: `hwnas devices`. Notes "
                  "and caveats: `hwnas devices --format json`; per-column provenance: hwnas/_data/*_measured.json.",
                  markup=False, highlight=False)
    _print_registered(console)


def _print_registered(console) -> None:
    from hwnas.devices import registered_hwnasbench

    meta = registered_hwnasbench()
    if meta is not None:
        nb = meta.get("nb201", {})
        console.print(f"HW-NAS-Bench pickle registered ({meta['source_name']}, {meta['registered_at']}): "
                      f"NB201 {', '.join(nb.get('datasets', [])) or 'none'}; its values take precedence.",
                      markup=False, highlight=False)
