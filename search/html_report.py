"""`report.html`: one self-contained page per search run, beside pareto.png.

The page holds the plot (pareto.png embedded as base64), the front table (score, every cost
with its unit and where it came from: measured / predicted / estimated, extrapolated), each
front member's NAS-Bench-201 cell drawn as inline SVG, the run's settings and the provenance
of every cost source. No scripts, no external files: it opens from a mail attachment.

It is built from the front DataFrame and the run record only (``pareto.csv`` / ``run.json``
hold the same), so `render_html` can redraw a report from a finished run's files.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any, Sequence

from hwnas.storage import atomic_write

# NAS-Bench-201 cell: edge j of the genotype goes (to <- from), in this order
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OP_SHORT = {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "conv 1x1", "nor_conv_3x3": "conv 3x3",
            "avg_pool_3x3": "avg pool"}
OP_COLOUR = {"none": "#bbbbbb", "skip_connect": "#2ca02c", "nor_conv_1x1": "#1f77b4", "nor_conv_3x3": "#d62728",
             "avg_pool_3x3": "#9467bd"}
SOURCE_NOTE = {
    "measured": "measured on the device (published benchmark tables)",
    "predicted": "predicted by a pre-trained predictor shipped with hwnas",
    "estimated": "estimated by a model transferred from other measurements (docs/energy.md)",
    "extrapolated": "a predicted or estimated value outside the measured range or op-count envelope",
    "counted": "counted on the built network (FLOPs: multiply-accumulates per sample; params)",
}


def parse_nb201(arch: str) -> list[str]:
    """The six ops of an NB201 arch string, in genotype order (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2)."""
    found = re.findall(r"\|([a-z_0-9]+)~(\d)", arch)
    if len(found) != 6:
        raise ValueError(f"not a NAS-Bench-201 arch string: {arch!r}")
    ops = [op for op, _ in found]
    inputs = [int(i) for _, i in found]
    if inputs != [src for _, src in NB201_EDGES]:
        raise ValueError(f"unexpected edge order in {arch!r}")
    return ops


def cell_svg(ops: Sequence[str], title: str = "") -> str:
    """An NB201 cell as inline SVG: nodes 0..3 left to right, each edge labelled with its op;
    ``none`` edges are drawn faint and dashed (they carry nothing)."""
    xs = {0: 24, 1: 124, 2: 224, 3: 324}
    y = 82
    # (to, from) -> arc height above (+) or below (-) the node line
    lift = {(1, 0): 0, (2, 1): 0, (3, 2): 0, (2, 0): 38, (3, 1): -38, (3, 0): 70}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cell" width="261" height="123" '
             f'viewBox="0 0 348 164" role="img">']
    if title:
        parts.append(f"<title>{html.escape(title)}</title>")
    for (dst, src), op in zip(NB201_EDGES, ops):
        x0, x1 = xs[src] + 12, xs[dst] - 12
        h = lift[(dst, src)]
        colour = OP_COLOUR.get(op, "#000000")
        faint = op == "none"
        style = (f'stroke="{colour}" stroke-width="1" stroke-dasharray="3 3" opacity="0.5"' if faint
                 else f'stroke="{colour}" stroke-width="2"')
        if h == 0:
            parts.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" {style}/>')
            lx, ly = (x0 + x1) / 2, y - 6
        else:
            cy = y - 2 * h  # quadratic Bezier: the curve's peak is at y - h
            parts.append(f'<path d="M {x0} {y} Q {(x0 + x1) / 2} {cy} {x1} {y}" fill="none" {style}/>')
            lx, ly = (x0 + x1) / 2, y - h + (-5 if h > 0 else 15)
        if not faint:  # arrow head at the target node
            parts.append(f'<polygon points="{x1},{y} {x1 - 7},{y - 4 if h >= 0 else y + 4} '
                         f'{x1 - 8},{y + 3 if h >= 0 else y - 3}" fill="{colour}"/>')
        opacity = ' opacity="0.6"' if faint else ""
        parts.append(f'<text x="{lx:g}" y="{ly:g}" text-anchor="middle" font-size="14" fill="{colour}"{opacity} '
                     f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{html.escape(OP_SHORT.get(op, op))}</text>')
    for node, x in xs.items():
        label = {0: "in", 3: "out"}.get(node, str(node))
        parts.append(f'<circle cx="{x}" cy="{y}" r="12" fill="#ffffff" stroke="#333333" stroke-width="1.5"/>')
        parts.append(f'<text x="{x}" y="{y + 4}" text-anchor="middle" font-size="12">{node}</text>')
        if label != str(node):
            parts.append(f'<text x="{x}" y="{y + 28}" text-anchor="middle" font-size="12" fill="#555555">'
                         f'{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if v != v:
        return "n/a"
    if v in (float("inf"), float("-inf")):
        return "inf"
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.4e}"


def _cost_columns(front) -> list[tuple[str, str, str]]:
    """(column, metric, unit) of every cost column of the front table, objectives first."""
    out = []
    for col in front.columns:
        if col.startswith("score") or "_" not in col:
            continue
        metric, unit = col.rsplit("_", 1)
        if unit in ("ms", "mJ", "FLOPs", "params") and f"{metric}_source" in front.columns:
            out.append((col, metric, unit))
    return out


def _kv_table(rows: "list[tuple[str, Any]]", cls: str) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_plain(v))}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _plain(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) if v else "none"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_plain(x)}" for k, x in v.items())
    return "" if v is None else str(v)


def _missing(value: Any) -> bool:
    """True for an empty cell (None, NaN, pandas NA)."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas NA: its comparison is NA, whose truth is ambiguous
        return True


def render_html(front, run: dict, png: bytes | None = None, score_text: str = "",
                score_columns: Sequence[str] = ()) -> str:
    """The report page as a string (see the module docstring)."""
    esc = html.escape
    device, space, dataset = run.get("device") or "no device", run.get("space", "?"), run.get("dataset", "?")
    budgets = ", ".join(f"{b['metric']} &le; {b['limit']:g} {esc(b['unit'])}" for b in run.get("budgets") or []) \
        or "none (every cost minimised)"
    proxy = "+".join(run.get("proxy") or [])
    costs = _cost_columns(front)
    reference = set(run.get("reference_costs") or {})
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hwnas pareto: {esc(space)} / {esc(dataset)} on {esc(device)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:middle}"
        "th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".src{display:block;font-size:0.8em;color:#555}.src.x{color:#b35900;font-weight:bold}"
        "code{font-size:0.8em;word-break:break-all}img{max-width:100%;border:1px solid #ddd}"
        "p.note{color:#444;font-size:0.9em}td.comp{font-size:0.8em;color:#444;white-space:nowrap}"
        "td.arch code{display:block;max-width:261px}</style>",
        "</head><body>",
        f"<h1>Pareto front: {esc(space)} / {esc(dataset)} on {esc(device)}</h1>",
        f"<p>Budget: {budgets}. Proxy: <b>{esc(proxy)}</b>. {run.get('evaluated', '?')} architectures evaluated "
        f"({esc(str(run.get('algorithm', '?')))}, seed {esc(str(run.get('seed', '?')))}), "
        f"{run.get('feasible_evaluated', '?')} within budget, front of {len(front)}.</p>",
    ]
    if png:
        out.append(f'<img alt="proxy score against {esc(costs[0][1] if costs else "cost")}; front members numbered '
                   f'by rank" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')
        out.append("<p class=note>Numbers in the plot are the # of the table below.</p>")
    out.append("<h2>Front</h2>")
    if score_text:
        out.append(f"<p class=note><b>score</b> (higher = better): {esc(score_text)}.</p>")
    head = ["#", "NB201 index", "score"] + (["score components"] if score_columns else [])
    for col, metric, unit in costs:
        head.append(f"{esc(metric)} ({esc(unit)})" + (" *" if metric in reference else ""))
    head.append("cell")
    out.append('<table id="front"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
    for _, row in front.iterrows():
        rank = int(row["rank"])
        idx = row["arch_index"]
        idx = "-" if _missing(idx) else int(idx)
        arch = str(row["arch"])
        cells = [f'<td class="num">{rank}</td>', f'<td class="num">{idx}</td>',
                 f'<td class="num">{_fmt(row["score"])}</td>']
        if score_columns:
            cells.append('<td class="comp">' + "<br>".join(f"{esc(c)} {_fmt(row[c])}" for c in score_columns)
                         + "</td>")
        for col, metric, unit in costs:
            source = str(row[f"{metric}_source"])
            cls = "src x" if "extrapolated" in source else "src"
            cells.append(f'<td class="num">{_fmt(row[col])} {esc(unit)}<span class="{cls}">{esc(source)}</span></td>')
        try:
            if run.get("space") != "nb201":
                raise ValueError("not an NB201 cell")
            svg = cell_svg(parse_nb201(arch), title=f"#{rank}: NB201 {idx}")
        except ValueError:
            svg = '<svg xmlns="http://www.w3.org/2000/svg" class="cell" width="1" height="1"></svg>'
        cells.append(f'<td class="arch">{svg}<code>{esc(arch)}</code></td>')
        out.append(f'<tr id="rank-{rank}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    notes = ["Cost sources: " + "; ".join(f"<b>{k}</b>: {esc(v)}" for k, v in SOURCE_NOTE.items()) + "."]
    for metric in sorted(reference):
        notes.append(f"* {esc(metric)}: not an objective; shown because the energy values rest on it.")
    if run.get("accuracy_note"):
        notes.append(esc(run["accuracy_note"]) + ".")
    if run.get("score_quality"):
        notes.append("How well the score is known: " + esc(run["score_quality"]["note"]) + ".")
    if run.get("space") == "nb201":
        notes.append("Cells: nodes 0 (input) to 3 (output); each edge carries one op, faint dashed edges are "
                     "<i>none</i> (no connection).")
    out += [f"<p class=note>{n}</p>" for n in notes]

    out.append("<h2>Where the costs come from</h2><ul>")
    for label, block in (("objective", run.get("cost_sources") or {}), ("shown", run.get("reference_costs") or {})):
        for metric, info in block.items():
            counts = ", ".join(f"{n:,} {k}" for k, n in (info.get("counts") or {}).items() if n)
            out.append(f"<li><b>{esc(metric)}</b> ({label}): {esc(counts)} of the whole space"
                       + (f"; measured with {esc(info['measured_input'])} input" if info.get("measured_input") else "")
                       + "<ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>"
                                          for k, v in (info.get("provenance") or {}).items()) + "</ul></li>")
    out.append("</ul>")

    out.append("<h2>Run</h2>")
    rows: list[tuple[str, Any]] = [("command", run.get("command") or "(Python API)")]
    rows += list((run.get("settings") or {}).items())
    rows += [("objectives", run.get("objectives")), ("archive", run.get("archive"))]
    if run.get("evaluations_note"):
        rows.append(("note", run["evaluations_note"]))
    if run.get("excluded_evaluated"):
        rows.append(("kept off the front", run["excluded_evaluated"]))
    if run.get("scoring"):
        rows.append(("scoring", run["scoring"]))
    if run.get("onnx_exports"):
        rows.append(("ONNX exports", [Path(e["path"]).name for e in run["onnx_exports"]]))
    if run.get("timings"):
        rows.append(("timings (s)", run["timings"]))
    rows.append(("versions", run.get("versions")))
    out.append(_kv_table(rows, "settings"))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_html_report(out: Path, front, run: dict, png_path: "Path | None" = None, score_text: str = "",
                      score_columns: Sequence[str] = ()) -> Path:
    """Write ``out/report.html`` (atomically) and return its path."""
    png = Path(png_path).read_bytes() if png_path is not None and Path(png_path).is_file() else None
    text = render_html(front, run, png, score_text, score_columns)
    return atomic_write(Path(out) / "report.html", lambda fh: fh.write(text.encode("utf-8")))
