"""Batch transcription: find sessions, skip finished ones, keep going past failures.

A session is finished when ``<name>.done.json`` exists; it is written last, after every output
file has been renamed into place, so a run killed at any moment leaves either a finished
session or one that the next run redoes from scratch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notsofar.arrays import mono_array_note
from notsofar.audio import audio_files
from notsofar.data import safe_id
from notsofar.errors import EXIT_PARTIAL, NotsofarError
from notsofar.pipeline import Result, multichannel_entry, transcribe_source
from notsofar.pipeline.config import TranscribeConfig

DONE = ".done.json"
#: the geometry a NOTSOFAR-1 multi-channel device recording implies
NOTSOFAR_ARRAY = "notsofar_mc"
NOTSOFAR_CHANNELS = 7
#: recordings shorter than this (s) get no real-time factor: loading and set-up dominate
MIN_RTF_S = 1.0


@dataclass(frozen=True)
class Session:
    """One recording to transcribe: output name (may contain ``/``), id, and audio file(s).

    The output files keep the recording's name; the session id in them has whitespace replaced
    (:func:`notsofar.data.safe_id`: RTTM, STM and CTM fields cannot hold spaces), and
    ``<name>.done.json`` records which audio it came from."""

    name: str
    session_id: str
    paths: tuple[Path, ...]
    #: array geometry the layout implies (NOTSOFAR MC device -> notsofar_mc), used when the
    #: config leaves ``array`` unset
    array: str | None = None
    #: ``paths`` are one file per speaker (``channel: speakers`` on a folder)
    speaker_files: bool = False


@dataclass
class Outcome:
    session: Session
    status: str  # done | skipped | failed
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    speakers: int = 0
    words: int = 0
    error: str = ""

    @property
    def rtf(self) -> float | None:
        """Processing time / audio duration; None for recordings under :data:`MIN_RTF_S`
        (a 1-sample file would give a meaningless 30000)."""
        return self.elapsed_s / self.duration_s if self.duration_s >= MIN_RTF_S else None


@dataclass
class BatchReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.failed else 0


def find_sessions(inputs: list[Path], speakers: bool = False) -> list[Session]:
    """Sessions from files, folders of audio files (recursive) or NOTSOFAR dataset roots.

    ``speakers`` (``channel: speakers``): a folder's audio files are one session, one speaker
    per file (a video call's separate recording of each participant, AMI's headset files);
    every folder below it that holds two or more audio files is a session of its own, named
    by its path, and a lone file stays a session whose channels are its speakers."""
    sessions: list[Session] = []
    for path in inputs:
        path = Path(path)
        if not path.exists():
            raise NotsofarError("input not found", path=path)
        if path.is_file():
            name = path.name.split(".")[0]
            sessions.append(Session(name, safe_id(name), (path,)))
            continue
        from notsofar.io import notsofar as dataset

        if dataset.is_dataset(path):
            for s in dataset.find_sessions(path, with_reference=False):
                array = NOTSOFAR_ARRAY if s.kind == "mc" else None
                sessions.append(Session(s.session_id, s.session_id, tuple(s.wav_paths), array))
            continue
        from notsofar.enhance.channels import channel_files, is_channel_folder

        if is_channel_folder(path):  # a NOTSOFAR mc_<device>/ folder: one session, all channels
            files = tuple(channel_files(path))
            array = NOTSOFAR_ARRAY if len(files) == NOTSOFAR_CHANNELS else None
            sessions.append(Session(path.name, safe_id(path.name), files, array))
            continue
        files = audio_files(path)
        if not files:
            raise NotsofarError("no audio files found in folder", path=path)
        if speakers:
            sessions += _speaker_sessions(path, files)
            continue
        sessions += [_file_session(path, p) for p in files]
    names = [s.name for s in sessions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise NotsofarError(f"two inputs would write the same outputs: {', '.join(dupes)}")
    return sessions


def session_duration(session: Session) -> float:
    """A session's duration (s) from its headers, for progress: the longest of a folder's
    per-speaker files, else the first file's (channel files are one length); 0.0 when
    unreadable (the session itself then reports the file)."""
    from notsofar.audio import durations_s

    files = session.paths if session.speaker_files else session.paths[:1]
    return max(durations_s(files))


def _file_session(root: Path, path: Path) -> Session:
    """The session of one audio file found under the folder ``root``, named by its path below
    ``root`` without the audio extension (``sub/meeting``)."""
    rel = path.relative_to(root)
    name = (rel.parent / rel.name.split(".")[0]).as_posix()
    return Session(name, safe_id(name), (path,))


def _speaker_sessions(root: Path, files: list[Path]) -> list[Session]:
    """:func:`find_sessions` with ``speakers`` on the audio ``files`` found under ``root``."""
    folders: dict[Path, list[Path]] = {}
    for p in files:
        folders.setdefault(p.parent, []).append(p)
    out = []
    for folder, group in folders.items():
        if len(group) == 1:
            out.append(_file_session(root, group[0]))
            continue
        name = root.resolve().name if folder == root else folder.relative_to(root).as_posix()
        out.append(Session(name, safe_id(name), tuple(group), speaker_files=True))
    return out


def outputs_of(out_dir: Path, name: str, cfg: TranscribeConfig) -> list[Path]:
    return [out_dir / f"{name}{suffix}" for suffix in cfg.outputs]


def config_hash(cfg: TranscribeConfig) -> str:
    """A short hash of the settings that change results (not ``outputs`` or thread counts;
    the device as resolved, so ``auto`` and ``cpu`` on a machine without a GPU agree)."""
    import hashlib

    from notsofar.config import to_dict
    from notsofar.pipeline.models import resolve_device

    d = to_dict(dataclasses.replace(cfg, device=resolve_device(cfg.device)))
    d.pop("outputs", None)
    d["asr"].pop("cpu_threads", None)
    d["diarize"].pop("threads", None)
    text = json.dumps(d, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def done_config(out_dir: Path, name: str, cfg: TranscribeConfig) -> str | None:
    """The config hash a finished session was made with (``""`` if its marker has none), or
    None when the session is not finished (no marker or an output missing)."""
    marker = out_dir / f"{name}{DONE}"
    if not (marker.is_file() and all(p.is_file() for p in outputs_of(out_dir, name, cfg))):
        return None
    try:
        return str(json.loads(marker.read_text(encoding="utf-8")).get("config_hash", ""))
    except (OSError, ValueError, AttributeError):
        return None  # an unreadable marker: redo the session


def is_done(out_dir: Path, name: str, cfg: TranscribeConfig, any_config: bool = False) -> bool:
    """Finished, with this config (or with any config when ``any_config``)."""
    made_with = done_config(out_dir, name, cfg)
    return made_with is not None and (any_config or made_with == config_hash(cfg))


def check_writable(out_dir: Path) -> None:
    """A one-line usage error now, rather than after an hour of work."""
    from notsofar.io.atomic import check_writable as check

    check(out_dir)


def remove_stale_temps(out_dir: Path, name: str, cfg: TranscribeConfig) -> None:
    """Remove what a killed run left half-written for this session's own outputs."""
    from notsofar.io.atomic import remove_stale_temps as remove

    for path in outputs_of(out_dir, name, cfg):
        remove(path)
    for suffix in (DONE, ".config.yaml"):
        remove(out_dir / f"{name}{suffix}")
    with contextlib.suppress(OSError):  # see _restored
        (out_dir / f".{Path(name).name}.restored.tmp.wav").unlink()


def words_json(transcript: Any) -> str:
    """Every word with speaker, timing and confidence, in time order."""
    words = []
    for s in transcript.sorted():
        for w in s.word_details or ():
            words.append(
                {
                    "session_id": s.session_id,
                    "speaker": s.speaker,
                    "word": w.word,
                    "start_time": w.start_time,
                    "end_time": w.end_time,
                    "confidence": w.confidence,
                }
            )
    words.sort(key=lambda w: (w["start_time"] or 0.0, w["end_time"] or 0.0))
    return json.dumps(words, indent=1, ensure_ascii=False) + "\n"


def write_outputs(result: Result, out_dir: Path, name: str, cfg: TranscribeConfig) -> None:
    """Write every configured output atomically; the completion marker is not written here."""
    from notsofar import io
    from notsofar.io.atomic import write_text

    for path, suffix in zip(outputs_of(out_dir, name, cfg), cfg.outputs, strict=True):
        if suffix == ".words.json":
            write_text(path, words_json(result.transcript))
        elif suffix == ".rttm":
            io.write(path, result.diarization)  # the turns, not only the worded parts
        else:
            io.write(path, result.transcript)


@contextlib.contextmanager
def _restored(path: Path, cfg: TranscribeConfig, out_dir: Path, name: str) -> Iterator[Path]:
    """The audio to transcribe: ``path`` itself, or a temporary restored copy (block by block)."""
    if not cfg.restore.enabled:
        yield path
        return
    import numpy as np
    import soundfile as sf

    from notsofar.audio import SAMPLE_RATE, stream
    from notsofar.restore import restore_array

    tmp = out_dir / f".{Path(name).name}.restored.tmp.wav"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        channel = cfg.channel
        from notsofar.audio import info

        with sf.SoundFile(str(tmp), "w", SAMPLE_RATE, 1, "FLOAT") as f:
            ch = channel if info(path).num_channels > 1 else None
            for block in stream(path, block_s=60.0, channel=ch):
                y = restore_array(block, SAMPLE_RATE, cfg.restore)
                f.write(np.asarray(y, dtype=np.float32))
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def transcribe_session(
    session: Session,
    cfg: TranscribeConfig,
    models: Any,
    out_dir: Path,
    notice: Callable[[str], None],
    on_progress: Callable[[float], None] | None = None,
) -> Result:
    """Transcribe one session (single- or multi-channel) and return its result."""
    from notsofar.audio import info
    from notsofar.diarize.tracks import tracks_levels
    from notsofar.pipeline.source import FileSource
    from notsofar.pipeline.tracks import transcribe_tracks

    first = session.paths[0]
    channels = len(session.paths) if len(session.paths) > 1 else info(first).num_channels
    array = session.array if cfg.array is None else cfg.array
    # one speaker per file (a folder) or per channel (a file): speakers from the microphones
    tracks = session.paths if session.speaker_files else None
    levels = None
    if (
        tracks is None
        and len(session.paths) == 1
        and (cfg.channel == "speakers" or (channels == 2 and array in (None, "none")))
    ):
        levels = tracks_levels(first, cfg.channel)
        tracks = first if levels is not None else None
    if tracks is not None:
        if cfg.restore.enabled:
            per = "file" if session.speaker_files else "channel"
            notice(f"{session.name}: restore is not applied to one-speaker-per-{per} audio")
        return transcribe_tracks(tracks, cfg, models, session.session_id, on_progress, levels)
    if channels == 1 and array not in (None, "none"):
        notice(f"{session.name}: {mono_array_note(array)}")
    if channels > 1 and array not in (None, "none"):
        cfg = dataclasses.replace(cfg, array=array)
        entry = multichannel_entry()
        if entry is not None:
            out = entry(
                list(session.paths) if len(session.paths) > 1 else first,
                cfg,
                models=models,
                session_id=session.session_id,
                notice=notice,
                on_progress=on_progress,
            )
            if isinstance(out, Result):
                return out
            turns = out.map(lambda s: dataclasses.replace(s, words="", word_details=None))
            return Result(out, turns, info(first).duration_s)
        notice(
            f"{session.name}: array={cfg.array} given but the multi-channel front end is not "
            "available; using the single-channel path"
        )
    path, channel = first, cfg.channel
    if len(session.paths) > 1:  # one file per channel (NOTSOFAR mc layout)
        index = channel if isinstance(channel, int) else 0
        if not -len(session.paths) <= index < len(session.paths):
            raise NotsofarError(
                f"channel {index} out of range: the session has {len(session.paths)} channel files",
                path=first.parent,
            )
        path, channel = session.paths[index], 0
        notice(f"{session.name}: {channels} channel files; using {path.name}")
    FileSource(path, channel)  # validates the file and the channel before any work
    if len(session.paths) == 1 and channels > 1:
        from notsofar.audio import resolve_channel

        channel = resolve_channel(channel, channels)
        how = "their average" if channel == "mix" else f"channel {channel}"
        notice(f"{session.name}: {channels}-channel input; transcribing {how}")
    with _restored(path, cfg, out_dir, session.name) as audio_path:
        if audio_path == path:
            source = FileSource(path, channel, name=session.session_id)
            return transcribe_source(source, cfg, models, on_progress)
        restored = FileSource(audio_path, 0, name=session.session_id)
        if cfg.restore_diarization:
            return transcribe_source(restored, cfg, models, on_progress)
        # restoration changes the voice features the speaker encoder relies on (measured: tcpWER
        # 62.7 -> 75.4 % when diarizing restored audio), so by default only Whisper hears it
        original = FileSource(path, channel, name=session.session_id)
        return transcribe_source(original, cfg, models, on_progress, asr_source=restored)


def run_session(
    session: Session,
    cfg: TranscribeConfig,
    models: Any,
    out_dir: Path,
    notice: Callable[[str], None],
    on_progress: Callable[[float], None] | None = None,
) -> Outcome:
    """Transcribe one session and write its outputs, then its ``.done.json`` marker.

    Errors become a failed :class:`Outcome` (a bug on one recording must not stop a batch).
    """
    from notsofar.config import write_resolved_config
    from notsofar.io.atomic import write_text

    start = time.perf_counter()
    try:
        result = transcribe_session(session, cfg, models, out_dir, notice, on_progress)
        for note in result.notes:
            notice(f"{session.name}: {note}")
        (out_dir / session.name).parent.mkdir(parents=True, exist_ok=True)
        write_outputs(result, out_dir, session.name, cfg)
        write_resolved_config(resolved_config(cfg, models, result), out_dir, session.name)
        outcome = Outcome(
            session,
            "done",
            result.duration_s,
            time.perf_counter() - start,
            len(result.speakers),
            result.transcript.num_words,
        )
        write_text(
            out_dir / f"{session.name}{DONE}",
            json.dumps(
                {
                    "session_id": session.session_id,
                    "audio": [str(p) for p in session.paths],
                    "config_hash": config_hash(cfg),
                    "duration_s": round(outcome.duration_s, 3),
                    "elapsed_s": round(outcome.elapsed_s, 3),
                    "speakers": outcome.speakers,
                    "words": outcome.words,
                }
            )
            + "\n",
        )
    except NotsofarError as e:
        outcome = Outcome(session, "failed", error=str(e))
    except MemoryError:
        outcome = Outcome(session, "failed", error="out of memory")
    except Exception as e:  # a bug on one recording must not stop a long batch
        outcome = Outcome(session, "failed", error=f"internal error: {e!r}"[:300])
    return outcome


def run_batch(
    sessions: list[Session],
    cfg: TranscribeConfig,
    out_dir: Path,
    console: Any,
    force: bool = False,
    resume_any_config: bool = False,
    threads: int | None = None,
) -> BatchReport:
    """Transcribe every session into ``out_dir``, skipping finished ones, listing failures.

    A session finished with another result-affecting config (:func:`config_hash`) is redone,
    with a notice, unless ``resume_any_config``. ``threads``: limit torch, BLAS and
    CTranslate2 to this many threads (None: their defaults).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from notsofar.pipeline.models import ModelCache
    from notsofar.recognize.hub import resolve

    if cfg.asr.model:  # a wrong model (or one offline) is a usage error before any session runs
        resolve(cfg.asr.model)
    check_writable(out_dir)
    if threads:
        from notsofar.parallel import limit_threads

        limit_threads(threads)
    models = ModelCache(cfg.device, cfg.asr.cpu_threads or threads or 0)
    chash = config_hash(cfg)
    report = BatchReport()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        for session in sessions:
            made_with = None if force else done_config(out_dir, session.name, cfg)
            if made_with is not None and (resume_any_config or made_with == chash):
                console.print(f"skip {session.name} (done)")
                report.outcomes.append(Outcome(session, "skipped"))
                continue
            if made_with is not None:
                console.print(
                    f"redo {session.name}: done with another config "
                    f"({made_with or 'unrecorded'} != {chash}; --resume-any-config keeps it)"
                )
            remove_stale_temps(out_dir, session.name, cfg)
            console.print(f"transcribing {session.name}")
            task = progress.add_task(session.name, total=1.0)
            progress.update(task, total=max(session_duration(session), 1e-3))
            outcome = run_session(
                session,
                cfg,
                models,
                out_dir,
                console.print,
                lambda t, task=task: progress.update(task, completed=t),
            )
            progress.remove_task(task)
            report.outcomes.append(outcome)
            if outcome.status == "failed":
                console.print(f"failed {session.name}: {outcome.error}")
    return report


def ct2_threads(cpu_threads: int) -> int:
    """The CPU threads CTranslate2 runs with: ``cpu_threads``, or for 0 its default
    (``OMP_NUM_THREADS`` when set, else 4, as faster-whisper documents)."""
    import os

    if cpu_threads:
        return cpu_threads
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else 4


def resolved_config(cfg: TranscribeConfig, models: Any, result: Result) -> TranscribeConfig:
    """``cfg`` as it actually ran: the array (``none`` for the single-channel path), the
    device, the ASR model directory, compute type and threads, the encoders' torch threads."""
    from notsofar.pipeline.models import default_whisper_dir

    asr = cfg.asr
    from notsofar.recognize.hub import resolve

    model = resolve(asr.model, download=False).resolve() if asr.model else default_whisper_dir()
    compute_type = asr.compute_type
    if compute_type == "auto":
        compute_type = "float16" if models.device == "cuda" else "int8"
    asr = dataclasses.replace(
        asr,
        model=str(model),
        compute_type=compute_type,
        cpu_threads=ct2_threads(asr.cpu_threads),
    )
    diarize = cfg.diarize
    if not diarize.threads:
        import os

        diarize = dataclasses.replace(diarize, threads=os.cpu_count() or 1)
    if diarize.runtime == "auto" and getattr(models, "diarizer_runtime", None):
        diarize = dataclasses.replace(diarize, runtime=models.diarizer_runtime)
    return dataclasses.replace(
        cfg, array=result.array or "none", device=models.device, asr=asr, diarize=diarize
    )


def summary_json(report: BatchReport) -> list[dict[str, Any]]:
    """One record per session: what :func:`summary_table` shows, for ``--json``."""
    out: list[dict[str, Any]] = []
    for o in report.outcomes:
        item: dict[str, Any] = {"session": o.session.name, "status": o.status}
        if o.status == "done":
            item.update(
                duration_s=round(o.duration_s, 3),
                speakers=o.speakers,
                words=o.words,
                rtf=None if o.rtf is None else round(o.rtf, 4),
            )
        if o.error:
            item["error"] = o.error
        out.append(item)
    return out


_worker_models: dict[tuple[str, int], Any] = {}


def _session_task(
    session: Session, cfg: TranscribeConfig, out_dir: Path, threads: int | None
) -> tuple[Outcome, list[str]]:
    """One session in a worker process: its models are loaded on the worker's first session
    and kept for the next ones."""
    from notsofar.parallel import default_threads, limit_threads, malloc_trim_notice
    from notsofar.pipeline.models import ModelCache

    notices: list[str] = []
    if threads is None:  # a Dask worker started elsewhere: its cores shared by its threads
        threads = default_threads(_dask_worker_threads())
    limit_threads(threads)
    key = (cfg.device, cfg.asr.cpu_threads or threads)
    if key not in _worker_models:
        _worker_models.clear()
        _worker_models[key] = ModelCache(*key)
        notice = malloc_trim_notice()  # once per worker: on its first session
        if notice:
            notices.append(notice)
    outcome = run_session(session, cfg, _worker_models[key], out_dir, notices.append)
    return outcome, notices


def _dask_worker_threads() -> int:
    try:
        from dask.distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return 1


def run_batch_parallel(
    sessions: list[Session],
    cfg: TranscribeConfig,
    out_dir: Path,
    console: Any,
    force: bool = False,
    resume_any_config: bool = False,
    workers: int = 2,
    executor: str = "local",
    scheduler: str | None = None,
    threads: int | None = None,
) -> BatchReport:
    """:func:`run_batch` on ``workers`` processes (``executor="local"``) or a Dask cluster.

    One task per session; each worker loads the models once. ``threads`` per worker defaults to
    the usable cores shared out (locally) or to each Dask worker's cores over its threads.
    The report lists sessions in input order, as a sequential run does.
    """
    from notsofar.parallel import BatchProgress, default_threads, run_tasks
    from notsofar.pipeline.models import resolve_device
    from notsofar.recognize.hub import resolve

    if cfg.asr.model:  # a wrong model (or one offline) is a usage error before any session runs
        resolve(cfg.asr.model)
    check_writable(out_dir)
    gpu = cfg.device == "cuda"
    if scheduler is None:  # remote workers check their own devices
        gpu = resolve_device(cfg.device) == "cuda" and executor == "local"
        if threads is None:
            threads = default_threads(workers)
    outcomes: dict[int, Outcome] = {}
    todo: list[int] = []
    chash = config_hash(cfg)
    for i, session in enumerate(sessions):
        made_with = None if force else done_config(out_dir, session.name, cfg)
        if made_with is not None and (resume_any_config or made_with == chash):
            console.print(f"skip {session.name} (done)")
            outcomes[i] = Outcome(session, "skipped")
            continue
        if made_with is not None:
            console.print(
                f"redo {session.name}: done with another config "
                f"({made_with or 'unrecorded'} != {chash}; --resume-any-config keeps it)"
            )
        remove_stale_temps(out_dir, session.name, cfg)
        todo.append(i)
    durations = [session_duration(sessions[i]) for i in todo]
    with BatchProgress(console, durations) as bar:

        def done(k: int, value: Any, error: str | None) -> None:
            session = sessions[todo[k]]
            if value is None:
                outcome = Outcome(session, "failed", error=error or "")
            else:
                outcome, notices = value
                for line in notices:
                    console.print(line)
            outcomes[todo[k]] = outcome
            if outcome.status == "failed":
                console.print(f"failed {session.name}: {outcome.error}")
            else:
                console.print(f"transcribed {session.name}")
            bar.advance(durations[k])

        run_tasks(
            _session_task,
            [(sessions[i], cfg, out_dir, threads) for i in todo],
            done,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            gpu=gpu,
            name="transcribe",
            sizes=durations,
        )
    return BatchReport([outcomes[i] for i in range(len(sessions))])


def summary_table(report: BatchReport) -> Any:
    """A rich table: one row per session with duration, speakers, words and real-time factor."""
    from rich.table import Table

    table = Table(title="notsofar transcribe")
    for col in ("session", "status", "duration", "speakers", "words", "RTF"):
        table.add_column(col, justify="left" if col in ("session", "status") else "right")
    for o in report.outcomes:
        if o.status == "done":
            table.add_row(
                o.session.name,
                o.status,
                f"{o.duration_s:.1f} s",
                str(o.speakers),
                str(o.words),
                "-" if o.rtf is None else f"{o.rtf:.3f}",
            )
        else:
            table.add_row(o.session.name, o.status, "", "", "", "")
    return table
