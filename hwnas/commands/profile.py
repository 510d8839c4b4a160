"""`hwnas profile`: time architectures with onnxruntime on this machine (live profiling).

Register with ``cli.add_command(profile_cmd)``. The work is done by `hwnas.devices.profile`;
this module parses, checks, calls and prints.
"""

from __future__ import annotations

import time

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command("profile", context_settings=CONTEXT)
@click.option("--space", default="nb201", show_default=True, help="Search space (see `hwnas spaces`).")
@click.option("--dataset", default="cifar100", show_default=True,
              help="Dataset the networks are built for: sets classes and input size.")
@click.option("--archs", "spec", required=True,
              help="Comma-separated: index (6111), inclusive range (0-99), arch string "
                   "('|nor_conv_3x3~0|+|...|'), sample:N (the N most informative for adapting the "
                   "latency predictors, under --seed) or all. Duplicates are dropped.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="CSV to write (arch, latency_ms, latency_var_ms2, arch_str) with sidecar OUT.json. "
                   "An existing file is resumed: architectures already in it are skipped.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="onnxruntime intra- and inter-op threads.")
@click.option("--repeats", default=50, show_default=True, type=click.IntRange(min=1),
              help="Timed runs per network (latency = their median).")
@click.option("--warmup", default=10, show_default=True, type=click.IntRange(min=0),
              help="Untimed runs per network before the timed ones.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the weights, the input and sample:N.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out instead of resuming it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def profile_cmd(space: str, dataset: str, spec: str, out: str, threads: int, repeats: int, warmup: int,
                seed: int, overwrite: bool, quiet: bool) -> None:
    """Time each network with onnxruntime on this machine under a fixed protocol.

    Batch 1, --warmup untimed runs, then --repeats runs timed one by one; latency_ms is their
    median and latency_var_ms2 their variance. Sessions are pinned to --threads (intra and
    inter op), sequential execution, all graph optimisations. Each row is written (and fsynced)
    as soon as its network is timed, so a killed run resumes where it stopped when rerun with
    the same --out; a file measured under another protocol or on another machine is refused
    unless --overwrite. Details: docs/profiling.md.

    \b
    Examples:
      hwnas profile --archs sample:200 --out runs/prof/local.csv
      hwnas profile --dataset cifar10 --archs 0-99,6111 --threads 2 --out c10.csv
    """
    from hwnas.devices import profile as prof
    from hwnas.errors import HwnasUsageError
    from hwnas.spaces import get_space

    sp = get_space(space)
    if not sp.indexed:
        raise HwnasUsageError(f"hwnas profile times nb201 networks (by index); {sp.name} networks have no index yet: "
                              f"export one with `hwnas export --space {sp.name} --arch ARCH -o net.onnx`")
    ds = sp.dataset(dataset)
    settings = {**prof.protocol(sp.name, ds.name, threads, repeats, warmup, seed), **prof.machine_info(threads)}
    done = prof.check_resume(out, settings, overwrite=overwrite)  # path and protocol, before any work
    indices = prof.parse_arch_spec(sp.name, spec, seed=seed)
    new = sum(1 for i in indices if i not in done)
    start = time.perf_counter()
    frame = prof.profile_archs(sp.name, ds.name, indices, threads=threads, repeats=repeats, warmup=warmup,
                               seed=seed, progress=not quiet, out=out, overwrite=overwrite)
    took = time.perf_counter() - start
    kept = len(indices) - new
    lat = frame["latency_ms"]
    click.echo(f"profiled {new} architecture(s) in {took:.1f} s"
               + (f" ({kept} already in {out})" if kept else "")
               + f": {out} ({len(frame)} of them, latency median {lat.median():.3f} ms, "
                 f"range {lat.min():.3f}..{lat.max():.3f} ms), sidecar {prof.sidecar_path(out)}")
