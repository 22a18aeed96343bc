"""Files in, files out: restore (or only analyze) one file or a folder of files.

Every output is written atomically, so a file that exists is complete: a re-run skips it
(resumable batches). One failing file does not stop a batch; its error is kept in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from notsofar.audio import AUDIO_SUFFIXES, audio_files
from notsofar.errors import NotsofarError
from notsofar.restore.analyze import Degradation, analyze, check_signal
from notsofar.restore.config import RestoreConfig

#: files shorter than this (s) get no real-time factor: set-up dominates their time
MIN_RTF_S = 1.0


@dataclass(frozen=True)
class FileResult:
    """What happened to one input file.

    ``status`` is ``restored``, ``analyzed`` (``--analyze`` without output), ``skipped`` (output
    already there) or ``failed`` (``error`` says why).
    """

    input: str
    output: str | None
    status: str
    error: str | None = None
    analysis: tuple[Degradation, ...] = ()
    steps: tuple[tuple[str, ...], ...] = ()
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    #: one-line notices (a truncated input, an output redone for another config)
    warnings: tuple[str, ...] = ()

    @property
    def rtf(self) -> float | None:
        """Real-time factor of the restoration (processing time / audio duration); None for
        files under :data:`MIN_RTF_S` (a 1-sample file would give a meaningless number)."""
        return self.elapsed_s / self.duration_s if self.duration_s >= MIN_RTF_S else None


def find_inputs(path: str | Path) -> list[Path]:
    """The audio files under ``path`` (recursively, sorted; hidden names below it left out) or
    ``[path]`` for a file."""
    path = Path(path)
    if not path.exists():
        raise NotsofarError("input not found", path=path)
    if path.is_file():
        return [path]
    files = audio_files(path)
    if not files:
        raise NotsofarError(
            f"no audio files ({', '.join(AUDIO_SUFFIXES[:4])}, ...) in folder", path=path
        )
    return files


def output_paths(inputs: list[Path], input_root: Path, output: Path | None) -> list[Path | None]:
    """Where each input is written: ``output`` itself for one file, mirrored under a folder
    (as ``.wav`` where the input's format is one soundfile cannot write, such as M4A)."""
    from notsofar.audio import writable_name

    if output is None:
        return [None] * len(inputs)
    if input_root.is_file():
        if output.is_dir() or str(output).endswith(("/", "\\")):
            return [writable_name(output / input_root.name)]
        return [output]
    if output.exists() and output.is_file():
        raise NotsofarError("input is a folder, so -o must be a folder, not a file", path=output)
    return [writable_name(output / p.relative_to(input_root)) for p in inputs]


def config_tag(cfg: RestoreConfig) -> str:
    """What an output's comment tag records: a hash of the config that made it (every
    restore setting changes the result)."""
    import hashlib
    import json

    from notsofar.config import to_dict

    text = json.dumps(to_dict(cfg), sort_keys=True, default=str)
    return f"notsofar restore config {hashlib.sha256(text.encode()).hexdigest()[:16]}"


def check_output(output: Path, one_file: bool) -> None:
    """Before any work: ``-o`` names a format soundfile writes (for one input file) and its
    folder takes files. In a folder run each file's format is checked before its own work."""
    from notsofar import audio
    from notsofar.io.atomic import check_writable

    if one_file:
        audio.check_output_format(output)
    check_writable(output.parent if one_file else output)


#: formats whose files cannot hold the comment tag with the config (their outputs are trusted)
UNTAGGED_SUFFIXES = (".w64", ".au")


def _plan_steps(d: Degradation, cfg: RestoreConfig) -> tuple[str, ...]:
    if cfg.backend == "chain" and cfg.effective_profile == "listening":
        from notsofar.restore.deepfilter import chain_plan

        return tuple(chain_plan(d, cfg))
    if cfg.backend != "dsp":
        return (cfg.backend,)
    from notsofar.restore.dsp import plan

    return tuple(plan(d, cfg.dsp))


def restore_file(
    input_path: str | Path,
    output_path: str | Path | None,
    cfg: RestoreConfig,
    overwrite: bool = False,
    analyze_only: bool = False,
    reference: str | Path | None = None,
    resume_any_config: bool = False,
) -> FileResult:
    """Restore (or with ``analyze_only`` just analyze) one file; errors become a failed result.

    Args:
        input_path: audio file in any libsndfile format; mono or multi-channel.
        output_path: where to write; the format follows the suffix. None: do not write.
        cfg: restore config (``cfg.sample_rate`` sets the output rate; None keeps the input's).
        overwrite: rewrite an existing output instead of skipping it.
        analyze_only: only analyze (no restoration).
        reference: clean reference file: adds ``metrics`` (input and output vs reference).
        resume_any_config: skip an existing output made with another config (by default it
            is redone, with a warning; the config is recorded in the output's comment tag).
    """
    from notsofar import audio
    from notsofar.io.atomic import remove_stale_temps

    src = str(input_path)
    dst = None if output_path is None else str(output_path)
    tag = config_tag(cfg)
    warnings: list[str] = []
    if dst is not None and not overwrite and not analyze_only and Path(dst).exists():
        untagged = Path(dst).suffix.lower() in UNTAGGED_SUFFIXES
        if resume_any_config or untagged or audio.comment_of(dst) == tag:
            return FileResult(src, dst, "skipped")
        warnings.append(
            f"{dst}: made with another config; redoing it (--resume-any-config keeps it)"
        )
    cut = audio.wav_truncation(input_path)
    if cut is not None:
        warnings.append(
            f"{src}: file shorter than its header says ({cut[0]:.2f} of {cut[1]:.2f} s); "
            "restoring what is there"
        )
    t0 = time.perf_counter()
    try:
        if dst is not None and not analyze_only:
            audio.check_output_format(dst)  # before the work, not after it
        x, sr = audio.read(input_path, sample_rate=None)
        check_signal(x, sr, input_path)
        chans = x[None] if x.ndim == 1 else x
        analysis = tuple(analyze(c, sr, cfg.analysis) for c in chans if np.any(np.abs(c) > 1e-7))
        steps = tuple(_plan_steps(d, cfg) for d in analysis)
        if analyze_only:
            return FileResult(
                src,
                None,
                "analyzed",
                analysis=analysis,
                steps=steps,
                duration_s=x.shape[-1] / sr,
                warnings=tuple(warnings),
            )
        from notsofar.restore import restore_array

        t1 = time.perf_counter()
        y = restore_array(x, sr, cfg, path=input_path)
        elapsed = time.perf_counter() - t1
        out_sr = cfg.sample_rate or sr
        if out_sr != sr:
            y = audio.resample(y, sr, out_sr)
            y = _ceiling(y)
        metrics = {}
        if reference is not None:
            metrics = evaluate(x, y, sr, out_sr, reference)
        if dst is not None:
            remove_stale_temps(dst)  # what a killed run left of this output
            audio.write(dst, y, out_sr, subtype=_subtype(input_path, dst), comment=tag)
        return FileResult(
            src,
            dst,
            "restored",
            analysis=analysis,
            steps=steps,
            duration_s=x.shape[-1] / sr,
            elapsed_s=elapsed,
            metrics=metrics,
            warnings=tuple(warnings),
        )
    except NotsofarError as e:
        elapsed = time.perf_counter() - t0
        return FileResult(src, dst, "failed", str(e), elapsed_s=elapsed, warnings=tuple(warnings))
    except MemoryError:
        return FileResult(src, dst, "failed", error=f"{src}: out of memory")


def _ceiling(y: np.ndarray, ceiling: float = 10 ** (-0.1 / 20)) -> np.ndarray:
    """Resampling can overshoot a peak-limited signal by a little: keep it below full scale."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return (y * (ceiling / peak)).astype(np.float32) if peak > ceiling else y


def _subtype(src: str | Path, dst: str | Path) -> str | None:
    """Keep the input's sample format when writing the same container (else the default)."""
    import soundfile as sf

    if Path(src).suffix.lower() != Path(dst).suffix.lower():
        return None
    try:
        return sf.info(str(src)).subtype
    except Exception:  # noqa: BLE001 (the default subtype is a safe fallback)
        return None


def evaluate(
    noisy: np.ndarray,
    restored: np.ndarray,
    sr: int,
    out_sr: int,
    reference: str | Path,
) -> dict[str, dict[str, float]]:
    """DNSMOS of input and output, and reference metrics of both against ``reference``.

    Multi-channel audio is evaluated on its first channel. The reference is read at its own
    rate, mixed down to mono, then resampled and aligned to each signal (cross-correlation).
    """
    from notsofar import audio
    from notsofar.metrics import dnsmos, reference_metrics

    ref, ref_sr = audio.read(reference, sample_rate=None, channel="mix")
    check_signal(ref, ref_sr, reference)
    first_in = noisy if noisy.ndim == 1 else noisy[0]
    first_out = restored if restored.ndim == 1 else restored[0]
    out: dict[str, dict[str, float]] = {}
    for name, sig, rate in (("input", first_in, sr), ("output", first_out, out_sr)):
        m = dict(dnsmos(sig, rate))
        m.update(reference_metrics(sig, ref, rate, ref_sr, path=reference))
        out[name] = m
    return out


def restore_paths(
    input_path: str | Path,
    output: str | Path | None,
    cfg: RestoreConfig,
    overwrite: bool = False,
    analyze_only: bool = False,
    reference: str | Path | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    resume_any_config: bool = False,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    threads: int | None = None,
) -> list[FileResult]:
    """Restore one file or every audio file of a folder (same parameters as ``notsofar restore``).

    ``reference`` is only allowed with a single input file. ``on_result`` is called after each
    file (progress reporting; in completion order when parallel). ``workers`` > 1 or
    ``executor="dask"`` (``scheduler``: a Dask scheduler address) restore one file per task on
    worker processes of ``threads`` threads each (default: the usable cores shared out); the
    results are still returned in input order.
    """
    from notsofar.restore import check_backend

    root = Path(input_path)
    inputs = find_inputs(root)
    if not analyze_only:
        check_backend(cfg)
    if reference is not None and len(inputs) != 1:
        raise NotsofarError("--eval takes one reference, so the input must be one file", path=root)
    outs = output_paths(inputs, root, None if output is None else Path(output))
    if output is not None and not analyze_only:
        check_output(outs[0] if root.is_file() else Path(output), root.is_file())
    if (workers > 1 or executor != "local") and reference is None:
        return _restore_parallel(
            inputs,
            outs,
            cfg,
            overwrite,
            analyze_only,
            on_result,
            resume_any_config,
            workers,
            executor,
            scheduler,
            threads,
        )
    results = []
    for src, dst in zip(inputs, outs, strict=True):
        r = restore_file(
            src,
            dst,
            cfg,
            overwrite=overwrite,
            analyze_only=analyze_only,
            reference=reference,
            resume_any_config=resume_any_config,
        )
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def _restore_task(
    src: Path,
    dst: Path | None,
    cfg: RestoreConfig,
    overwrite: bool,
    analyze_only: bool,
    resume_any_config: bool,
    threads: int | None,
) -> FileResult:
    """One file in a worker process (a model backend is loaded once per worker and kept)."""
    from notsofar.parallel import default_threads, limit_threads

    limit_threads(threads or default_threads(1))
    return restore_file(
        src,
        dst,
        cfg,
        overwrite=overwrite,
        analyze_only=analyze_only,
        resume_any_config=resume_any_config,
    )


def _restore_parallel(
    inputs: list[Path],
    outs: list[Path | None],
    cfg: RestoreConfig,
    overwrite: bool,
    analyze_only: bool,
    on_result: Callable[[FileResult], None] | None,
    resume_any_config: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    threads: int | None,
) -> list[FileResult]:
    from notsofar.audio import durations_s
    from notsofar.parallel import default_threads, run_tasks

    if threads is None and scheduler is None:
        threads = default_threads(workers)
    results: dict[int, FileResult] = {}

    def done(i: int, result: FileResult | None, error: str | None) -> None:
        if result is None:
            dst = None if outs[i] is None else str(outs[i])
            result = FileResult(str(inputs[i]), dst, "failed", error=f"{inputs[i]}: {error}")
        results[i] = result
        if on_result is not None:
            on_result(result)

    tasks = [
        (src, dst, cfg, overwrite, analyze_only, resume_any_config, threads)
        for src, dst in zip(inputs, outs, strict=True)
    ]
    run_tasks(
        _restore_task,
        tasks,
        done,
        workers,
        executor,
        scheduler,
        gpu=False,
        name="restore",
        sizes=durations_s(inputs),
    )
    return [results[i] for i in range(len(inputs))]


def summarize(results: Iterable[FileResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts
