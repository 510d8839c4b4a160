"""report.html beside pareto.png: self-contained, one table row and one cell drawing per front member."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import hwnas
from hwnas.cli import main
from hwnas.search.html_report import NB201_OPS, cell_svg, parse_nb201
from hwnas.search.report import place_labels


class _Page(HTMLParser):
    """Collects the structure the tests check: the front table's rows, their svgs, images."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.in_front = False
        self.rows: list[dict] = []
        self.imgs: list[dict] = []
        self.svgs_outside_front = 0
        self.scripts = 0
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "front":
            self.in_front = True
        if tag == "tr" and self.in_front and a.get("id", "").startswith("rank-"):
            self.rows.append({"id": a["id"], "svgs": 0, "lines": 0, "paths": 0, "dashed": 0, "texts": 0})
        if tag == "svg":
            if self.in_front and self.rows:
                self.rows[-1]["svgs"] += 1
            else:
                self.svgs_outside_front += 1
        if tag in ("line", "path") and self.rows and self.in_front:
            self.rows[-1][tag + "s"] += 1
            self.rows[-1]["dashed"] += "stroke-dasharray" in a
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "script", "img") and any(str(a.get(k, "")).startswith(("http:", "https:", "//"))
                                                    for k in ("href", "src")):
            self.external.append(tag)
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "table" and self.in_front:
            self.in_front = False

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def tx2_run(tmp_path_factory):
    """The README's main job at reduced size: estimated energy, latency shown beside it."""
    out = tmp_path_factory.mktemp("runs") / "tx2"
    return hwnas.pareto(device="jetson-tx2", energy="20mJ", evaluations=200, pop_size=20, out=out)


def test_report_is_written_listed_and_self_contained(tx2_run):
    res = tx2_run
    path = res.paths["report_html"]
    assert path.name == "report.html" and path.parent == res.paths["pareto_png"].parent
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    n = len(res.front)
    assert n > 0 and len(page.rows) == n
    assert [r["id"] for r in page.rows] == [f"rank-{k}" for k in res.front["rank"]]
    assert all(r["svgs"] == 1 for r in page.rows)  # one cell drawing per member
    assert all(r["lines"] + r["paths"] == 6 for r in page.rows)  # six edges each
    assert page.scripts == 0 and not page.external
    pngs = [i for i in page.imgs if i.get("src", "").startswith("data:image/png;base64,")]
    assert len(pngs) == 1
    assert base64.b64decode(pngs[0]["src"].split(",", 1)[1]) == res.paths["pareto_png"].read_bytes()
    text = " ".join(page.text)
    for needle in ("energy (mJ)", "latency (ms)", "estimated", "higher", "jetson-tx2", "Where the costs come from",
                   "power model", "seed", "versions"):
        assert needle in text, needle
    for _, row in res.front.iterrows():
        assert str(int(row["arch_index"])) in text and row["energy_source"] in text


def test_wrote_line_lists_the_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code = main(["pareto", "--device", "raspi4", "--latency", "8ms", "--proxy", "params", "--evaluations", "40",
                 "--pop-size", "10", "--out", str(tmp_path / "pi")])
    out, err = capsys.readouterr()
    assert code == 0, err
    wrote = [line for line in out.splitlines() if line.startswith("wrote ")]
    assert wrote and "report.html" in wrote[0] and "pareto.png" in wrote[0]
    assert (tmp_path / "pi" / "report.html").is_file()


def test_cell_svg_draws_every_edge_and_fades_none():
    ops = parse_nb201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    assert ops == ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1"]
    page = _Page()
    page.feed('<table id="front"><tr id="rank-1"><td>' + cell_svg(ops) + "</td></tr></table>")
    row = page.rows[0]
    assert row["lines"] + row["paths"] == 6 and row["dashed"] == 2
    text = " ".join(page.text)
    for label in ("conv 3x3", "skip", "avg pool", "conv 1x1", "none"):
        assert label in text
    assert set(ops) <= set(NB201_OPS)
    with pytest.raises(ValueError):
        parse_nb201("|nor_conv_3x3~0|+|none~0|")


def test_labels_do_not_overlap():
    rng = np.random.default_rng(0)
    pts = np.column_stack([np.linspace(100, 400, 30), 300 + rng.normal(0, 3, 30)])  # a crowded, flat front
    sizes = [(16.0, 16.0)] * len(pts)
    off = place_labels(pts, sizes, (0, 0, 800, 600))
    boxes = [(x - 8, y - 8, x + 8, y + 8) for x, y in pts + off]
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), (i, j)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tx2_run, tmp_path):
    shot = tmp_path / "report.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1300,1600",
           f"--screenshot={shot}", tx2_run.paths["report_html"].resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
