"""`hwnas data ...`: register measurement data that hwnas cannot ship (HW-NAS-Bench's pickle,
HW-NAS-Bench-360's parquet). Register with ``cli.add_command(data_group)``; the work is done by
`hwnas.devices`; this module parses, calls and prints.
"""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("data", context_settings=CONTEXT)
def data_group() -> None:
    """Manage measurement data that hwnas cannot ship.

    \b
    Example:
      hwnas data add-hwnasbench ~/Downloads/HW-NAS-Bench-v1_0.pickle
    """


@data_group.command("add-hwnasbench")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def add_hwnasbench_cmd(path: str) -> None:
    """Register HW-NAS-Bench's own data file (HW-NAS-Bench-v1_0.pickle).

    The file is read without running any code it names (only dicts, lists, numbers and numpy
    arrays are accepted) and copied as npz + JSON into $HWNAS_HOME (default
    ~/.local/share/hwnas). Its measurements then take precedence over the shipped tables: NB201
    latency and energy on all six HW-NAS-Bench devices for CIFAR-10, CIFAR-100 and
    ImageNet16-120, and the FBNet block table.

    \b
    Example:
      hwnas data add-hwnasbench HW-NAS-Bench-v1_0.pickle
    """
    from hwnas.devices import register_hwnasbench
    from hwnas.devices._tables import HWNASBENCH_DIR, user_data_dir

    meta = register_hwnasbench(path)
    nb = meta.get("nb201")
    parts = []
    if nb:
        metrics = sorted({f"{c['device']} {c['metric']}" for c in nb["columns"]})
        parts.append(f"NB201 {len(nb['datasets'])} dataset(s) x {len(metrics)} metrics, "
                     f"{nb['archs_in_file']:,} archs")
    fb = meta.get("fbnet")
    if fb:
        parts.append(f"FBNet block table {len(fb['metrics'])} metrics x {fb['blocks']} blocks")
    click.echo(f"registered {meta['source_name']} (sha256 {meta['sha256'][:12]}): {'; '.join(parts)} "
               f"-> {user_data_dir() / HWNASBENCH_DIR}")
    if meta.get("ignored"):
        click.echo(f"  ignored: {', '.join(meta['ignored'][:8])}{' ...' if len(meta['ignored']) > 8 else ''}")


@data_group.command("add-hw360")
@click.argument("path", type=click.Path(dir_okay=False))
def add_hw360_cmd(path: str) -> None:
    """Register HW-NAS-Bench-360's results/dataset.parquet (Raspberry Pi 5 and Pixel).

    Every (device, runtime, task) of the file is validated and copied as npz + JSON into
    $HWNAS_HOME (default ~/.local/share/hwnas)/hw360. The Pi 5 and Pixel latency and energy of
    NB201 CIFAR-100 networks then read as measured (without it, pi5-litert and pi5-torchmobile
    are priced by predictors trained on that file). Needs pyarrow: pip install 'hwnas[hw360]'.

    \b
    Example:
      hwnas data add-hw360 HW-NAS-Bench-360/results/dataset.parquet
    """
    from hwnas.devices._tables import HW360_DIR, user_data_dir
    from hwnas.devices.hw360 import register_hw360

    meta = register_hw360(path)
    cols = meta["nb201"]["columns"]
    groups: dict[str, list[str]] = {}
    for c in cols:
        groups.setdefault(f"{c['device']} ({c['dataset']})", []).append(f"{c['metric']} {c['archs']:,}")
    click.echo(f"registered {meta['source_name']} (sha256 {meta['sha256'][:12]}, {meta['rows']:,} rows): "
               f"{len(cols)} columns -> {user_data_dir() / HW360_DIR}")
    for key, parts in groups.items():
        click.echo(f"  {key}: {', '.join(parts)} archs")
    if meta.get("ignored"):
        click.echo(f"  ignored: {'; '.join(meta['ignored'][:6])}")
