"""`hwnas devices` (the device table) and `hwnas data add-hwnasbench PATH`.

Register with ``cli.add_command(devices_cmd)`` and ``cli.add_command(data_group)``. The work is
done by `hwnas.devices`; this module parses, calls and prints.
"""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command("devices", context_settings=CONTEXT)
@click.option("--kind", default=None, help="Only devices of this kind: GPU, CPU, phone, accelerator, FPGA, simulator.")
def devices_cmd(kind: str | None) -> None:
    """List the target devices: kind, metrics and units, batch size, coverage and source.

    Coverage counts the architectures with a measurement (LUT: HW-NAS-Bench's FBNet block table
    prices any architecture). Any alias works wherever a device is asked for.

    \b
    Examples:
      hwnas devices
      hwnas devices --kind phone
    """
    from rich.console import Console
    from rich.table import Table

    from hwnas.devices import KINDS, all_devices, registered_hwnasbench
    from hwnas.errors import HwnasUsageError

    devices = all_devices()
    if kind is not None:
        wanted = {k.lower(): k for k in KINDS}.get(kind.strip().lower())
        if wanted is None:
            raise HwnasUsageError(f"unknown device kind {kind!r}; use one of: {', '.join(KINDS)}")
        devices = [d for d in devices if d.kind == wanted]
    table = Table(title="target devices")
    for column in ("name", "aliases", "kind", "metrics", "batch", "coverage (archs)", "source"):
        table.add_column(column)
    for d in devices:
        metrics = ", ".join(f"{m} ({u})" for m, u in d.metrics)
        batch = "-" if d.batch_size is None else str(d.batch_size)
        table.add_row(d.name, ", ".join(d.aliases), d.kind, metrics, batch, d.coverage_text(), d.source)
    console = Console()
    console.print(table)
    console.print("batch '-': not stated by the source. Notes and caveats: `hwnas.devices.get_device(name).notes`; "
                  "per-column provenance: hwnas/_data/*_measured.json.")
    meta = registered_hwnasbench()
    if meta is not None:
        nb = meta.get("nb201", {})
        console.print(f"HW-NAS-Bench pickle registered ({meta['source_name']}, {meta['registered_at']}): "
                      f"NB201 {', '.join(nb.get('datasets', [])) or 'none'}; its values take precedence.")


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
