"""``notsofar restore``: restore speech recordings (noise, reverb, clipping, low bandwidth)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from notsofar.cli.common import (
    ConfigOption,
    Executor,
    ExecutorOption,
    QuietOption,
    SchedulerOption,
    SetOption,
    ThreadsPerWorkerOption,
    WorkersOption,
    console,
    handle_errors,
)
from notsofar.cli.options import JsonOption
from notsofar.errors import EXIT_OK, EXIT_PARTIAL, NotsofarError


class Backend(StrEnum):
    dsp = "dsp"
    deepfilter = "deepfilter"
    chain = "chain"
    voicefixer = "voicefixer"


@handle_errors
def restore_command(
    input: Annotated[Path, typer.Argument(help="Audio file or folder of audio files.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file, or folder for a folder.")
    ] = None,
    analyze: Annotated[
        bool,
        typer.Option("--analyze", help="Show what is wrong (SNR, reverb, bandwidth, clipping)."),
    ] = False,
    eval_ref: Annotated[
        Path | None, typer.Option("--eval", help="Clean reference: report DNSMOS, PESQ, STOI, ...")
    ] = None,
    sr: Annotated[
        int | None, typer.Option("--sr", help="Output sample rate (default: input's).")
    ] = None,
    backend: Annotated[Backend | None, typer.Option("--backend", help="Restore backend.")] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write the report here (default: restore.report.json by the outputs)."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo existing outputs.")] = False,
    resume_any_config: Annotated[
        bool,
        typer.Option(
            "--resume-any-config",
            help="Keep outputs made with another config (default: redo them).",
        ),
    ] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            metavar="cpu|cuda",
            help="Where neural backends run [config: voicefixer.device].",
        ),
    ] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    workers: WorkersOption = 1,
    threads_per_worker: ThreadsPerWorkerOption = None,
    executor: ExecutorOption = Executor.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Restore speech offline: declip, dereverberate, denoise, extend bandwidth, normalize."""
    from notsofar.cli.common import load_stage_config, write_resolved_config
    from notsofar.cli.summary import stdout_console
    from notsofar.restore import batch
    from notsofar.restore.analyze import table
    from notsofar.restore.config import RestoreConfig

    sets = list(set_ or [])
    if sr is not None:
        sets.append(f"sample_rate={sr}")
    if backend is not None:
        sets.append(f"backend={backend.value}")
    if device is not None:
        sets.append(f"voicefixer.device={device}")
    cfg = load_stage_config(RestoreConfig, config, sets)
    if output is None and not analyze and eval_ref is None:
        raise NotsofarError("nothing to do: give -o OUTPUT, --analyze or --eval")
    con = console(quiet)
    analyze_only = output is None and eval_ref is None
    parallel = bool(workers > 1 or executor is Executor.dask or scheduler)
    with _progress(con, input, parallel) as on_result:
        results = batch.restore_paths(
            input,
            output,
            cfg,
            overwrite=overwrite,
            analyze_only=analyze_only,
            reference=eval_ref,
            on_result=on_result,
            resume_any_config=resume_any_config,
            workers=workers,
            executor="dask" if scheduler else executor.value,
            scheduler=scheduler,
            threads=threads_per_worker,
        )
    if output is not None:
        out_dir = output if output.is_dir() else output.parent
        write_resolved_config(cfg, out_dir, "restore")
        # the analysis (and metrics) are kept with the outputs unless --report says elsewhere
        json_path = json_path or out_dir / "restore.report.json"
    report = _report(results)
    out = stdout_console(quiet or json_)  # results on stdout: tables, or --json
    if analyze or eval_ref is not None:
        out.print(table({r.input: list(r.analysis) for r in results if r.analysis}))
    if eval_ref is not None:
        out.print(_metrics_table(results))
    out.print(_summary(results))
    for r in results:
        for w in r.warnings:
            print(f"notsofar: warning: {w}", file=sys.stderr)
        if r.status == "failed":
            print(f"notsofar: error: {r.error}", file=sys.stderr)
    text = json.dumps(report, indent=2) + "\n"
    if json_path is not None:
        from notsofar.io.atomic import write_text

        write_text(json_path, text)
    if json_:
        print(text, end="")
    failed = sum(r.status == "failed" for r in results)
    if failed:
        raise typer.Exit(EXIT_PARTIAL)
    raise typer.Exit(EXIT_OK)


@contextlib.contextmanager
def _progress(con: Any, input: Path, parallel: bool) -> Iterator[Callable[[Any], None]]:
    """The ``on_result`` callback of ``restore_paths``: a spinner naming each file, or for
    parallel runs one bar for the whole batch (files, audio hours)."""
    if not parallel:
        with con.status("restoring", spinner="dots") as status:
            yield lambda r: status.update(f"{r.status}: {Path(r.input).name}")
        return
    from notsofar.audio import durations_s
    from notsofar.parallel import BatchProgress
    from notsofar.restore import batch

    paths = batch.find_inputs(input)
    by_input = dict(zip(map(str, paths), durations_s(paths), strict=True))
    with BatchProgress(con, list(by_input.values()), noun="files") as bar:
        yield lambda r: bar.advance(by_input.get(r.input, 0.0))


def _report(results: list) -> dict:
    out = {}
    for r in results:
        item: dict = {"status": r.status}
        if r.output:
            item["output"] = r.output
        if r.error:
            item["error"] = r.error
        if r.warnings:
            item["warnings"] = list(r.warnings)
        if r.analysis:
            item["analysis"] = [d.to_dict() for d in r.analysis]
            item["steps"] = [list(s) for s in r.steps]
        if r.elapsed_s and r.status == "restored" and r.rtf is not None:
            item["rtf"] = round(r.rtf, 4)
        if r.metrics:
            item["metrics"] = {
                k: {m: round(v, 4) for m, v in d.items()} for k, d in r.metrics.items()
            }
        out[r.input] = item
    return out


def _metrics_table(results: list) -> object:
    from rich.table import Table

    t = Table(title="Quality (input -> output)")
    for col in ("file", "metric", "input", "output"):
        t.add_column(col, justify="left" if col in ("file", "metric") else "right")
    for r in results:
        if not r.metrics:
            continue
        for m in r.metrics["input"]:
            t.add_row(
                Path(r.input).name,
                m,
                f"{r.metrics['input'][m]:.3f}",
                f"{r.metrics['output'][m]:.3f}",
            )
    return t


def _summary(results: list) -> str:
    from notsofar.restore.batch import summarize

    counts = summarize(results)
    parts = [f"{n} {s}" for s, n in sorted(counts.items())]
    return "restore: " + ", ".join(parts)
