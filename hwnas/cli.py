"""The `hwnas` command line: a thin layer over `hwnas.api` (parse, validate, call, print)."""

from __future__ import annotations

import sys
from typing import Sequence

import click

from hwnas import __version__
from hwnas.errors import ExportError, HwnasUsageError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _console():
    from rich.console import Console

    return Console()


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="hwnas", message="%(prog)s %(version)s")
def cli() -> None:
    """hwnas: hardware-aware neural architecture search without training.

    Pick a search space and a target device, get the best networks for it. Every
    architecture is a real PyTorch network that exports to a verified ONNX graph.

    \b
    Examples:
      hwnas spaces
      hwnas proxies
      hwnas devices
      hwnas pareto --device jetson-tx2 --energy 20mJ
      hwnas export --space nb201 --arch 6111 --dataset cifar100 -o net.onnx
    """


@cli.command("spaces")
def spaces_cmd() -> None:
    """List the search spaces, their sizes and datasets."""
    from rich.table import Table

    from hwnas.spaces import SPACES, get_space

    table = Table(title="search spaces")
    for column in ("name", "aliases", "architectures", "datasets (input C x H x W)", "description"):
        table.add_column(column)
    for name in SPACES.names():
        sp = get_space(name)
        datasets = ", ".join(f"{d.name} ({'x'.join(map(str, d.input_shape))})" for d in sp.datasets.values())
        table.add_row(name, ", ".join(SPACES.aliases_of(name)), f"{sp.num_archs:,}", datasets, sp.description)
    _console().print(table)


@cli.group("proxies", invoke_without_command=True)
@click.option("--time", "measure", is_flag=True,
              help="Measure each proxy's ms per network on this machine instead of showing the shipped figure.")
@click.option("--archs", default=3, show_default=True, type=click.IntRange(1, 200),
              help="With --time: networks timed per proxy (median).")
@click.option("--dataset", default="cifar100", show_default=True, help="With --time: NB201 dataset.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096),
              help="With --time: probe batch size.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 512),
              help="With --time: torch threads.")
@click.option("--proxies", "only", default=None,
              help="With --time: comma-separated proxies to time (default: all).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="With --time: also write the measurement as JSON (atomically).")
@click.pass_context
def proxies_cmd(ctx: click.Context, measure: bool, archs: int, dataset: str, batch_size: int, threads: int,
                only: str | None, out: str | None) -> None:
    """List the zero-cost proxies with their cost class (free < forward < backward < multi-batch)
    and what each costs per NB201 network (ms/arch, the shipped measurement; --time measures here).

    `hwnas proxies fit` makes a learned proxy from your labelled networks; `hwnas proxies
    suggest` says which networks to train for it."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from hwnas.proxies import PROXIES, get_proxy
    from hwnas.proxies.timing import setting_text, shipped_proxy_ms, time_proxies

    names = PROXIES.names()
    if (out or only) and not measure:
        raise HwnasUsageError(f"{'--out' if out else '--proxies'} goes with --time (it measures); add --time")
    if measure:
        from hwnas.spaces import get_space

        if only:
            try:
                names = list(dict.fromkeys(get_proxy(n.strip()).name for n in only.split(",") if n.strip()))
            except (KeyError, ValueError) as exc:
                raise HwnasUsageError(f"--proxies: {exc}") from None

        try:
            dataset = get_space("nb201").dataset(dataset).name
        except (KeyError, ValueError) as exc:
            raise HwnasUsageError(f"--dataset: {exc}") from None
        from pathlib import Path

        if out:
            from hwnas.search.run import check_writable_file

            check_writable_file(Path(out), "--out")
        from hwnas.progress import progress_bar

        with progress_bar(True) as bar:
            task = bar.add_task("timing proxies", total=len(names), status="")
            record = time_proxies(names, dataset, batch_size, archs, threads,
                                  on_done=lambda n, ms: bar.update(task, advance=1, status=f"{n} {ms:,.0f} ms"))
        names = [n for n in PROXIES.names() if n in record["ms_per_arch"]]
        if out:
            from hwnas.search.report import write_json

            Path(out).parent.mkdir(parents=True, exist_ok=True)
            write_json(Path(out), record)
    else:
        record = shipped_proxy_ms()
    ms = record["ms_per_arch"] if record else {}
    table = Table(title="zero-cost proxies (larger score = predicted better)",
                  caption=setting_text(record) if record else "no shipped ms/arch measurement")
    for column in ("name", "cost", "ms/arch", "description"):
        table.add_column(column, justify="right" if column == "ms/arch" else "left")
    for name in names:
        proxy = get_proxy(name)
        table.add_row(name, proxy.cost, f"{ms[name]:,.0f}" if name in ms else "-", proxy.description)
    _console().print(table)


@cli.command("export")
@click.option("--space", default="nb201", show_default=True, help="Search space (see `hwnas spaces`).")
@click.option("--arch", "arch", required=True,
              help="Architecture: the space's index (e.g. 6111), its arch string "
                   "(e.g. '|nor_conv_3x3~0|+|...|') or comma-separated op ids (e.g. 3,3,3,1,3,2).")
@click.option("--dataset", default="cifar100", show_default=True,
              help="Dataset the network is built for: sets classes and input size.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="ONNX file to write (written atomically, only once verified).")
@click.option("--opset", default=17, show_default=True, type=int, help="ONNX opset, 17..20.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the weight initialisation.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check with onnx.checker and compare onnxruntime with PyTorch (max abs diff <= 1e-4).")
def export_cmd(space: str, arch: str, dataset: str, output: str, opset: int, seed: int, verify: bool) -> None:
    """Export one architecture as a verified ONNX model.

    The graph has a dynamic batch axis (input `input`: N x C x H x W, output `logits`)
    and carries the space, arch, dataset and hwnas version as metadata. Weights are
    PyTorch's default init under --seed; BatchNorm statistics are calibrated on
    Gaussian inputs so the untrained network runs at a sane scale in eval mode.

    \b
    Example:
      hwnas export --space nb201 --arch 6111 --dataset cifar100 -o net.onnx
    """
    from hwnas import api

    result = api.export(arch, output, space=space, dataset=dataset, seed=seed, opset=opset, verify=verify)
    rep = result.report
    index = f" (index {result.index})" if result.index is not None else ""
    check = (f"onnx.checker ok, onnxruntime max |diff| = {rep.max_abs_diff:.2e}"
             if rep.max_abs_diff is not None else "not verified (--no-verify)")
    click.echo(f"wrote {rep.path}: {space} {result.arch_str}{index}, {result.dataset}, opset {rep.opset}")
    click.echo(f"  params {result.cost.params_m:.6f} M, FLOPs {result.cost.mflops:.6f} M; {check}; "
               f"{rep.export_s + rep.verify_s:.2f} s")


def _register_commands() -> None:
    from hwnas.commands.data import data_group
    from hwnas.commands.devices import devices_cmd
    from hwnas.commands.eval_proxies import eval_group
    from hwnas.commands.pareto import pareto_cmd
    from hwnas.commands.predictors import predictors_group

    # a seed numpy cannot take (negative, >= 2**32) is a usage error before any work
    for command in (eval_group.commands["proxies"], predictors_group.commands.get("train")):
        for param in getattr(command, "params", ()):
            if param.name == "seed":
                param.type = click.IntRange(0, 2**32 - 1)
    cli.add_command(devices_cmd)
    cli.add_command(data_group)
    cli.add_command(eval_group)
    cli.add_command(predictors_group)
    cli.add_command(pareto_cmd)
    from hwnas.commands.profile import profile_cmd; cli.add_command(profile_cmd)  # noqa: E702
    from hwnas.commands.proxies_fit import fit_cmd; proxies_cmd.add_command(fit_cmd)  # noqa: E702
    from hwnas.commands.proxies_suggest import suggest_cmd; proxies_cmd.add_command(suggest_cmd)  # noqa: E702


_register_commands()


def _fail(message: str, code: int) -> int:
    click.echo(f"hwnas: error: {message}", err=True)
    return code


_BUDGET_FLAGS = ("--latency", "--energy")


def _split_budget_hint(args: list[str]) -> str | None:
    """For ``--latency 5 ms`` typed without quotes (click: "unexpected extra argument (ms)"):
    a message that says to quote the budget or drop the space."""
    for i, a in enumerate(args[:-2]):
        flag, value, unit = a, args[i + 1], args[i + 2]
        if flag in _BUDGET_FLAGS and not unit.startswith("-"):
            try:
                float(value)
            except ValueError:
                continue
            return (f"{flag} {value} {unit}: a budget is one argument; quote it ({flag} \"{value} {unit}\") "
                    f"or leave out the space ({flag} {value}{unit})")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: usage errors are one line on stderr and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:  # bare `hwnas`: its help, not an error
        click.echo(cli.get_help(click.Context(cli, info_name="hwnas")))
        return 0
    try:
        result = cli.main(args=args, prog_name="hwnas", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if "unexpected extra argument" in exc.format_message():
            hint = _split_budget_hint(args)
            if hint:
                return _fail(hint, 2)
        where = f"hwnas {exc.ctx.command_path.split(' ', 1)[1]}" if exc.ctx and " " in exc.ctx.command_path else "hwnas"
        message = " ".join(exc.format_message().split())
        return _fail(f"{message} (see '{where} --help')", 2)
    except HwnasUsageError as exc:
        return _fail(" ".join(str(exc).split()), 2)
    except ExportError as exc:
        return _fail(str(exc), 1)
    except click.Abort:
        return _fail("interrupted", 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except OSError as exc:  # a file system refusal the checks did not foresee: still one line, not a traceback
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc}{where}", 2)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
