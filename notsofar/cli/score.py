"""``notsofar score``: tcpWER/cpWER/tcORC-WER (meeteval) and DER/JER (pyannote) with a table."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors
from notsofar.cli.options import JsonOption


class Normalizer(StrEnum):
    notsofar = "notsofar"
    notsofar_words = "notsofar-words"
    whisper = "whisper"
    none = "none"


@handle_errors
def score_command(
    ref: Annotated[
        list[Path],
        typer.Option("--ref", "-r", help="Reference: transcript file, folder, or NOTSOFAR root."),
    ],
    hyp: Annotated[
        list[Path], typer.Option("--hyp", "-h", help="Hypothesis: transcript file or folder.")
    ],
    metric: Annotated[
        str | None,
        typer.Option(help="Comma-separated: tcpwer,cpwer,tcorcwer,der,jer (default: tcpwer)."),
    ] = None,
    collar: Annotated[
        float | None,
        typer.Option(help="tcpWER/tcORC-WER collar, seconds each side (default: 5)."),
    ] = None,
    normalizer: Annotated[
        Normalizer | None,
        typer.Option(help="Text normalizer (default: notsofar, the official NOTSOFAR-1 one)."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(help="Write meeteval's alignment view and a report page per session here."),
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Ignore hypothesis sessions without reference.")
    ] = False,
    uem: Annotated[Path | None, typer.Option(help="UEM file: scored region per session.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the report (default: beside --hyp)."),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Score hypotheses against references; write <hyp>.score.json/.csv and print a table."""
    from notsofar.cli.common import load_stage_config, write_resolved_config
    from notsofar.cli.summary import stdout_console
    from notsofar.io.atomic import write_text
    from notsofar.score import ScoreConfig, score
    from notsofar.score.report import load_inputs, print_report, progress_bar, report_stem

    sets = list(set_ or [])
    if metric is not None:
        sets.append("metrics=[" + ",".join(m.strip() for m in metric.split(",") if m) + "]")
    if collar is not None:
        sets += [f"tcpwer.collar={collar}", f"tcorcwer.collar={collar}"]
    if normalizer is not None:
        sets.append(f"normalizer={normalizer.value}")
    if partial:
        sets.append("partial=true")
    if uem is not None:
        sets.append(f"uem={uem}")
    cfg = load_stage_config(ScoreConfig, config, sets)
    con = console(quiet)
    ref_t, hyp_t, notes = load_inputs(ref, hyp)
    with progress_bar(con, len(ref_t.session_ids) * len(set(cfg.metrics))) as tick:
        report = score(ref_t, hyp_t, cfg, on_session=tick)
    out_dir, stem = report_stem(hyp[0], out)
    write_text(out_dir / f"{stem}.score.json", report.to_json())
    write_text(out_dir / f"{stem}.score.csv", report.to_csv())
    write_resolved_config(cfg, out_dir, f"{stem}.score")
    if html is not None:
        from notsofar.score.html import write_html

        write_html(ref_t, hyp_t, cfg, html)
    if json_:
        print(report.to_json(), end="")
    tables = console(quiet=True) if json_ else stdout_console(quiet)
    print_report(report, con, notes, out_dir / f"{stem}.score.json", tables)
