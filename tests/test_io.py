"""File formats: round trips, suffix dispatch, the NOTSOFAR-1 layout, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notsofar import io
from notsofar.data import Segment, Transcript, Word
from notsofar.errors import NotsofarError
from notsofar.io import ctm, rttm, seglst, stm, uem
from notsofar.io import notsofar as dataset

TOKENS = st.text(alphabet="abcdefghij'", min_size=1, max_size=5)
# Times on a millisecond grid, as real annotation files have them.
TIMES = st.integers(0, 3_600_000).map(lambda ms: ms / 1000)


@st.composite
def segments(draw, timed_words: bool = False):
    words = draw(st.lists(TOKENS, min_size=1 if timed_words else 0, max_size=5))
    start = draw(TIMES)
    end = start + draw(TIMES) / 100
    details = None
    if timed_words:
        details = tuple(Word(w, start, end, None) for w in words)
    return Segment(
        session_id=draw(st.sampled_from(["S1", "multichannel/MTG_30860_plaza_0"])),
        speaker=draw(st.sampled_from(["A", "spk-1", "Peter"])),
        start_time=start,
        end_time=end,
        words=" ".join(words),
        word_details=details,
    )


def _round_trip(module, transcript: Transcript, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    io.write(path, transcript)
    text = path.read_text()
    back = io.read(path)
    io.write(path, back)
    assert path.read_text() == text  # write -> read -> write gives the same text
    assert module.loads(module.dumps(back)) == back  # read -> write -> read identical


@settings(max_examples=40, deadline=None)
@given(st.lists(segments(), max_size=6))
def test_seglst_and_stm_round_trip(tmp_path_factory, segs):
    tmp = tmp_path_factory.mktemp("rt")
    t = Transcript(segs)
    _round_trip(seglst, t, tmp, ".seglst.json")
    assert seglst.loads(seglst.dumps(t)) == t  # SegLST is lossless
    t_stm = Transcript(s for s in segs)
    _round_trip(stm, t_stm, tmp, ".stm")
    assert [(s.speaker, s.words, s.end_time) for s in stm.loads(stm.dumps(t))] == [
        (s.speaker, s.words, s.end_time) for s in t
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(segments(timed_words=True), max_size=5))
def test_ctm_and_rttm_round_trip(tmp_path_factory, segs):
    tmp = tmp_path_factory.mktemp("rt")
    t = Transcript(segs)
    _round_trip(ctm, t, tmp, ".ctm")
    # CTM keeps every word with its timing
    words = [(w.word, w.start_time) for s in t for w in s.word_details]
    back = ctm.loads(ctm.dumps(t))
    assert [(s.words, s.start_time) for s in back] == words
    _round_trip(rttm, t, tmp, ".rttm")
    assert [(s.speaker, s.start_time) for s in rttm.loads(rttm.dumps(t))] == [
        (s.speaker, s.start_time) for s in t
    ]


def test_files_written_by_hand_round_trip(tmp_path):
    stm_text = ";; comment\nS1 1 A 0 1.5 hello world\nS1 2 B 1.25 3 good  morning\n"
    t = stm.loads(stm_text)
    assert t[1].words == "good morning" and t[1].extra_dict == {"channel": "2"}
    assert stm.dumps(t) == "S1 1 A 0 1.5 hello world\nS1 2 B 1.25 3 good morning\n"
    rttm_text = "SPEAKER S1 1 0.5 2.25 <NA> <NA> alice <NA> <NA>\n"
    assert rttm.dumps(rttm.loads(rttm_text)) == rttm_text
    ctm_text = "S1 A 0.5 0.25 hello 0.9\nS1 A 0.75 0.3 there\n"
    assert ctm.dumps(ctm.loads(ctm_text)) == ctm_text
    uem_text = "S1 1 0 60.5\nS2 1 10 20\n"
    u = uem.loads(uem_text)
    assert u.as_dict() == {"S1": (0.0, 60.5), "S2": (10.0, 20.0)}
    assert uem.dumps(u) == uem_text
    p = tmp_path / "r.uem"
    uem.dump(u, p)
    assert uem.load(p) == u


def test_meeteval_reads_what_we_write(tmp_path):
    import meeteval

    t = Transcript(
        [Segment("S1", "A", 0, 1.5, "hello world"), Segment("S1", "B", 1, 2, "good morning")]
    )
    for suffix in (".seglst.json", ".stm"):
        path = io.write(tmp_path / f"x{suffix}", t)
        back = meeteval.io.asseglst(meeteval.io.load(path))
        assert [s["words"] for s in back] == ["hello world", "good morning"]
        assert [float(s["end_time"]) for s in back] == [1.5, 2.0]


def test_suffix_dispatch_and_folders(tmp_path):
    assert io.format_of("a/b.SegLST.json") == "seglst"
    assert io.format_of("x.rttm") == "rttm" and io.format_of("x.vtt") == "vtt"
    with pytest.raises(NotsofarError, match="unknown transcript format"):
        io.read(tmp_path / "x.docx")
    io.write(tmp_path / "d" / "a.stm", Transcript([Segment("S1", "A", 0, 1, "a")]))
    io.write(tmp_path / "d" / "b.seglst.json", Transcript([Segment("S2", "B", 0, 1, "b")]))
    io.write(tmp_path / "d" / "sub" / "c.seglst.json", Transcript([Segment("S3", "C", 0, 1, "c")]))
    (tmp_path / "d" / "b.score.json").write_text("{}")  # a report, not a transcript
    # one format per folder (SegLST first), so a transcript also written as STM counts once
    assert io.read_dir(tmp_path / "d").session_ids == ["S2", "S3"]
    assert io.read_dir(tmp_path / "d", suffixes=(".stm",)).session_ids == ["S1"]
    # the atomic writer leaves no temporary files behind
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "a.stm",
        "b.score.json",
        "b.seglst.json",
        "sub",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotsofarError, match="no transcript files found"):
        io.read_dir(tmp_path / "empty")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.seglst.json", '[{"session_id": "S"', r"bad.seglst.json:1: invalid JSON"),
        ("bad.json", '[{"a": 1}]', r"bad.json: segment #0: SegLST segment is missing"),
        ("bad.json", '{"a": 1}', r"bad.json: SegLST must be a list"),
        ("bad.stm", "S1 1 A 0 1 ok\nS1 1 A zero 1 x\n", r"bad.stm:2: start time is not a number"),
        ("bad.stm", "S1 1 A 0 1 ok\n\nS1 1 A\n", r"bad.stm:3: STM line needs"),
        ("bad.stm", "S1 1 A 2 1 backwards\n", r"bad.stm:1: segment S1/A \[2.0-1.0\]: end_time"),
        ("bad.rttm", "SPEAKER S1 1 0 1 <NA> <NA> a <NA> <NA>\nSPEAKER S1 1 0\n", r"bad.rttm:2:"),
        ("bad.rttm", "hello there\n", r"bad.rttm:1: not an RTTM line"),
        ("bad.ctm", "S1 A 0 -1 word\n", r"bad.ctm:1: negative duration"),
        (
            "bad.seglst.json",
            '[{"session_id": "S", "speaker": "A", "start_time": 3, "end_time": 1, "words": "x"}]',
            r"segment #0: segment S/A \[3-1\]: end_time 1 < start_time 3",
        ),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(NotsofarError, match=message) as err:
        io.read(path)
    assert "\n" not in str(err.value)


def test_non_utf8_and_missing_file(tmp_path):
    path = tmp_path / "latin1.stm"
    path.write_bytes("S1 1 A 0 1 caf\xe9\n".encode("latin-1"))
    with pytest.raises(NotsofarError, match=r"latin1.stm: not UTF-8 text"):
        io.read(path)
    with pytest.raises(NotsofarError, match="file not found"):
        io.read(tmp_path / "nope.rttm")


# ------------------------------------------------------------------------ NOTSOFAR-1 layout


def make_notsofar_meeting(root: Path, meeting: str, utterances: list[dict]) -> Path:
    """A meeting folder in the NOTSOFAR-1 layout (empty wav placeholders; no audio is read)."""
    mdir = root / meeting
    devices = [
        {"device_name": "plaza_0", "is_mc": True, "is_close_talk": False},
        {"device_name": "rockfall_1", "is_mc": False, "is_close_talk": False},
        {"device_name": "CT_21", "is_mc": False, "is_close_talk": True},
    ]
    for d in devices:
        if d["is_mc"]:
            names = [f"mc_{d['device_name']}/ch{i}.wav" for i in range(7)]
        elif d["is_close_talk"]:
            names = [f"close_talk/{d['device_name']}/ch0.wav"]
        else:
            names = [f"sc_{d['device_name']}/ch0.wav"]
        d["wav_file_names"] = ",".join(names)
        for n in names:
            (mdir / n).parent.mkdir(parents=True, exist_ok=True)
            (mdir / n).touch()
    (mdir / "devices.json").write_text(json.dumps(devices))
    (mdir / "gt_transcription.json").write_text(json.dumps(utterances))
    (mdir / "gt_meeting_metadata.json").write_text(
        json.dumps({"MeetingID": meeting, "MtgType": "mtg", "Participants": ["Peter", "Ann"]})
    )
    return mdir


UTTS = [
    {
        "speaker_id": "Peter",
        "start_time": 0.5,
        "end_time": 2.0,
        "text": "Okay, let's start.",
        "word_timing": [["okay", 0.5, 0.9], ["let's", 1.0, 1.4], ["start", 1.5, 2.0]],
    },
    {
        "speaker_id": "Ann",
        "start_time": 2.5,
        "end_time": 4.0,
        "text": "I have 3 items [laugh]",
        "word_timing": [["i", 2.5, 2.6]],  # does not line up with the text: no word timings
    },
]


def test_notsofar_dataset_reader(tmp_path):
    root = tmp_path / "dev_set" / "240415.2_dev" / "MTG"
    make_notsofar_meeting(root, "MTG_30860", UTTS)
    sessions = dataset.find_sessions(tmp_path / "dev_set")
    assert [s.session_id for s in sessions] == [
        "multichannel/MTG_30860_plaza_0",
        "singlechannel/MTG_30860_rockfall_1",
    ]
    mc, sc = sessions
    assert (mc.kind, mc.device, mc.meeting_id) == ("mc", "plaza_0", "MTG_30860")
    assert [p.name for p in mc.wav_paths] == [f"ch{i}.wav" for i in range(7)]
    assert all(p.is_file() for p in mc.wav_paths) and sc.wav_paths[0].parent.name.startswith("sc_")
    ref = mc.reference
    assert ref.session_ids == ["multichannel/MTG_30860_plaza_0"]
    assert [s.speaker for s in ref] == ["Peter", "Ann"]
    assert ref[0].word_details[1] == Word("let's", 1.0, 1.4)
    assert ref[1].word_details is None
    assert dataset.meeting_metadata(mc.meeting_dir)["MtgType"] == "mtg"
    assert [s.kind for s in dataset.find_sessions(root, kinds=("sc",))] == ["sc"]
    assert len(dataset.load_reference(root)) == 4  # the meeting once per device session


def test_gt_transcription_is_not_mistaken_for_seglst(tmp_path):
    path = tmp_path / "gt_transcription.json"
    path.write_text(json.dumps(UTTS))
    with pytest.raises(NotsofarError, match="NOTSOFAR gt_transcription.json, not SegLST"):
        io.read(path)


def test_notsofar_dataset_bad_input(tmp_path):
    with pytest.raises(NotsofarError, match="no NOTSOFAR meeting folders"):
        dataset.find_sessions(tmp_path)
    mdir = make_notsofar_meeting(tmp_path, "MTG_1", UTTS)
    (mdir / "gt_transcription.json").write_text('[{"speaker_id": "A", "start_time": 2,\n')
    with pytest.raises(NotsofarError, match=r"MTG_1/gt_transcription.json:2: invalid JSON"):
        dataset.find_sessions(tmp_path)
    bad = [{"speaker_id": "A", "start_time": 2, "end_time": 1, "text": "x"}]
    (mdir / "gt_transcription.json").write_text(json.dumps(bad))
    with pytest.raises(NotsofarError, match=r"utterance #0: .*end_time 1.0 < start_time 2.0"):
        dataset.find_sessions(tmp_path)
