"""Progress and summary tables of ``notsofar simulate`` (rich, on stderr)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def progress(con: Any, total: int) -> Iterator[Callable[[int, dict | None, str | None], None]]:
    """A shard progress bar; yields the ``on_shard`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=con,
        transient=True,
        disable=con.quiet,
    )
    task = bar.add_task("shards", total=total)
    started = False

    def on_shard(index: int, summary: dict | None, error: str | None) -> None:
        nonlocal started
        if not started:  # started lazily: input errors raised before any shard print cleanly
            bar.start()
            started = True
        bar.advance(task)
        if error:
            con.print(f"[red]shard {index} failed:[/red] {error}")

    try:
        yield on_shard
    finally:
        if started:
            bar.stop()


def _gb(n: float) -> str:
    return f"{n / 1e9:,.2f} GB"


def print_run(con: Any, report: Any, workers: int, errors: Any = None) -> None:
    from rich.table import Table

    cpu = sum(m["cpu_s"] for m in report.made)
    t = Table(title="notsofar simulate")
    for c in ("shards made", "skipped (done)", "failed", "hours made", "wall", "h / core-hour"):
        t.add_column(c, justify="right")
    rate = report.hours_made / (cpu / 3600) if cpu > 0 else 0.0
    t.add_row(
        str(len(report.made)),
        str(len(report.skipped)),
        str(len(report.failed)),
        f"{report.hours_made:.3f}",
        f"{report.wall_s:.1f} s",
        f"{rate:.0f}",
    )
    con.print(t)
    for index, err in report.failed:
        (errors or con).print(f"[red]shard {index}:[/red] {err}")


def run_json(report: Any, workers: int) -> dict:
    """What :func:`print_run` shows, for ``--json``."""
    cpu = sum(m["cpu_s"] for m in report.made)
    return {
        "shards_made": len(report.made),
        "shards_skipped": len(report.skipped),
        "shards_failed": [{"shard": i, "error": e} for i, e in report.failed],
        "hours_made": round(report.hours_made, 6),
        "wall_s": round(report.wall_s, 3),
        "cpu_s": round(cpu, 3),
        "workers": workers,
    }


def dry_run_json(d: Any, workers: int, cores: int | None = None) -> dict:
    """What :func:`print_dry_run` shows, for ``--json``."""
    p = d.plan
    cores = usable_cores() if cores is None else cores
    return {
        "examples": p.num_examples,
        "example_s": p.example_s,
        "shards": p.num_shards,
        "examples_per_shard": p.examples_per_shard,
        "disk_bytes": d.total_bytes,
        "core_hours": round(d.core_hours, 4),
        "workers": workers,
        "cores": cores,
        "wall_hours_at_least": round(wall_hours(d.core_hours, workers, cores), 4),
    }


def verify_json(folder: Path, rep: Any) -> dict:
    """What :func:`print_verify` shows, for ``--json``."""
    return {
        "folder": str(folder),
        "shards": rep.shards,
        "examples": rep.examples,
        "hours": round(rep.seconds / 3600, 6),
        "clipped_samples": rep.clipped_samples,
        "max_residual": rep.max_residual if rep.sums_checked else None,
        "problems": list(rep.problems),
    }


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def wall_hours(core_hours: float, workers: int, cores: int) -> float:
    """Wall-clock hours of ``core_hours`` of work on ``workers`` workers: workers beyond the
    machine's ``cores`` share them, so they add nothing (a lower bound: workers on one machine
    also slow each other a little, ~1.85-1.9x for 2 on 2 cores in BENCHMARKS.md).

    >>> wall_hours(8.0, 16, 4), wall_hours(8.0, 2, 4)
    (2.0, 4.0)
    """
    return core_hours / max(1, min(workers, cores))


def print_dry_run(con: Any, d: Any, workers: int, cores: int | None = None) -> None:
    from rich.table import Table

    p = d.plan
    cores = usable_cores() if cores is None else cores
    on = f" on {cores} cores" if workers > cores else ""
    t = Table(title="notsofar simulate --dry-run (speed measured on this machine just now)")
    for c in ("examples", "shards", "disk", "core-hours", f"wall at {workers} worker(s){on}"):
        t.add_column(c, justify="right")
    t.add_row(
        f"{p.num_examples:,} x {p.example_s:g} s",
        f"{p.num_shards:,} x {p.examples_per_shard}",
        _gb(d.total_bytes),
        f"{d.core_hours:,.2f}",
        f">= {wall_hours(d.core_hours, workers, cores):,.2f} h",
    )
    con.print(t)


def print_verify(con: Any, folder: Path, rep: Any) -> None:
    status = (
        "[green]OK[/green]" if not rep.problems else f"[red]{len(rep.problems)} problem(s)[/red]"
    )
    sums = (
        f"max |mixture - (speech + noise)| {rep.max_residual:.2e}"
        if rep.sums_checked
        else "mixture = speech + noise not checked (no gt_spk_reverb/gt_noise columns)"
    )
    con.print(
        f"{folder}: {rep.shards} shards, {rep.examples} examples, {rep.seconds / 3600:.3f} h, "
        f"{sums}: {status}"
    )
    for p in rep.problems:
        con.print(f"  {p}")
