"""``notsofar simulate``: NOTSOFAR-style multichannel training mixtures, sharded, at any scale."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors
from notsofar.cli.options import JsonOption


class Executor(StrEnum):
    local = "local"
    dask = "dask"


class Mode(StrEnum):
    css = "css"
    meeting = "meeting"


@handle_errors
def simulate_command(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    hours: Annotated[float, typer.Option(help="Hours of mixture audio to make.")] = 0.05,
    speech: Annotated[
        str | None,
        typer.Option(help="LibriSpeech folder, lhotse manifest, TSV, or 'embedded' [config]."),
    ] = None,
    rirs: Annotated[
        str | None,
        typer.Option(help="Folder of measured multichannel IR wavs, or 'simulated' [config]."),
    ] = None,
    noise: Annotated[
        str | None, typer.Option(help="Recorded noise file/folder, or 'diffuse' [config].")
    ] = None,
    mode: Annotated[Mode | None, typer.Option(help="css segments or whole meetings.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed [config: 0].")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    executor: Annotated[Executor, typer.Option(help="Where shards run.")] = Executor.local,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:8786).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan: shards, disk, time.")
    ] = False,
    verify: Annotated[
        Path | None, typer.Option(help="Re-read a simulation folder and check it.")
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Make simulated far-field mixtures as NOTSOFAR-1 CSS tar shards with a lhotse manifest."""
    from notsofar.cli.common import fail, load_stage_config, write_resolved_config
    from notsofar.cli.summary import print_json, stdout_console
    from notsofar.simulate import report as show
    from notsofar.simulate import with_sources
    from notsofar.simulate.config import SimulateConfig

    con = console(quiet)
    out_con = stdout_console(quiet or json_)  # results: stdout
    if verify is not None:
        from notsofar.simulate.verify import verify as verify_dir

        rep = verify_dir(verify)
        show.print_verify(out_con, verify, rep)
        if json_:
            print_json(show.verify_json(verify, rep))
        raise typer.Exit(rep.exit_code)
    cfg = load_stage_config(SimulateConfig, config, set_)
    cfg = with_sources(cfg, speech, rirs, noise, mode.value if mode else None, seed)
    if dry_run:
        from notsofar.simulate import dry_run as plan_run

        d = plan_run(cfg, hours)
        show.print_dry_run(out_con, d, workers)
        if json_:
            print_json(show.dry_run_json(d, workers))
        return
    if out is None:
        fail("--out/-o is required (or use --dry-run / --verify DIR)")
    from notsofar.simulate import make_plan_only, simulate

    with show.progress(con, make_plan_only(cfg, hours).num_shards) as on_shard:
        report = simulate(cfg, out, hours, workers, executor.value, scheduler, on_shard)
    write_resolved_config(cfg, out, "simulate")  # type: ignore[arg-type]
    show.print_run(out_con, report, workers, errors=con)
    if json_:
        print_json(show.run_json(report, workers))
    raise typer.Exit(report.exit_code)
