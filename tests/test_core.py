"""Data model, config system and array geometry: invariants with real values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notsofar.arrays import BUILTIN, load_array
from notsofar.config import dump_config, load_config
from notsofar.data import Segment, Transcript, Word
from notsofar.errors import NotsofarError

words = st.lists(st.text(alphabet="abcxyz'", min_size=1, max_size=6), min_size=1, max_size=6)


@st.composite
def segments(draw):
    toks = draw(words)
    start = draw(st.floats(0, 1000, allow_nan=False))
    dur = draw(st.floats(0, 30, allow_nan=False))
    timed = draw(st.booleans())
    details = None
    if timed:
        details = tuple(
            Word(t, start, start + dur, draw(st.none() | st.floats(0, 1))) for t in toks
        )
    return Segment(
        session_id=draw(st.sampled_from(["S1", "multichannel/MTG_1_plaza_0"])),
        speaker=draw(st.sampled_from(["A", "B", "spk-1"])),
        start_time=start,
        end_time=start + dur,
        words=" ".join(toks),
        word_details=details,
        extra=(("channel", '"0"'),) if draw(st.booleans()) else (),
    )


@given(st.lists(segments(), max_size=8))
def test_transcript_seglst_round_trip_is_lossless(segs):
    t = Transcript(segs)
    back = Transcript.from_seglst(t.to_seglst())
    assert back == t
    assert Transcript.from_seglst(back.to_seglst_dicts()).to_seglst_dicts() == t.to_seglst_dicts()


def test_segment_is_immutable_and_validated():
    s = Segment("S", "A", 1.0, 2.0, "a b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.speaker = "B"  # type: ignore[misc]
    with pytest.raises(NotsofarError, match="end_time 1.0 < start_time 2.0"):
        Segment("S", "A", 2.0, 1.0, "x")
    with pytest.raises(NotsofarError, match="2 words but 1 word_timings"):
        Segment.from_seglst(
            {
                "session_id": "S",
                "speaker": "A",
                "start_time": 0,
                "end_time": 1,
                "words": "a b",
                "word_timings": [[0, 1]],
            }
        )


def test_transcript_groupby_filter_sorted():
    t = Transcript(
        [
            Segment("S2", "B", 3, 4, "c"),
            Segment("S1", "A", 1, 2, "a"),
            Segment("S1", "B", 0, 1, "b"),
        ]
    )
    assert list(t.groupby("session_id")) == ["S2", "S1"]
    assert [s.words for s in t.sorted()] == ["b", "a", "c"]
    assert t.filter(lambda s: s.speaker == "B").num_words == 2
    assert t.speakers == ["B", "A"]


@dataclass
class _Inner:
    threshold: float = 0.5
    mode: str = "a"


@dataclass
class _Outer:
    name: str = "x"
    inner: _Inner = field(default_factory=_Inner)
    sizes: list[int] = field(default_factory=lambda: [1, 2])


def test_config_yaml_overrides_and_unknown_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: y\ninner:\n  threshold: 1\n")
    cfg = load_config(_Outer, f, ["inner.mode=b", "sizes=[3]"])
    assert cfg == _Outer("y", _Inner(1.0, "b"), [3])
    assert "threshold: 1.0" in dump_config(cfg)
    f.write_text("inner:\n  treshold: 1\n")
    with pytest.raises(NotsofarError, match=r"c\.yaml: unknown config key 'inner\.treshold'"):
        load_config(_Outer, f)
    with pytest.raises(NotsofarError, match="inner.threshold: expected a number"):
        load_config(_Outer, overrides=["inner.threshold=high"])
    f.write_text("name: [\n")
    with pytest.raises(NotsofarError, match="invalid YAML"):
        load_config(_Outer, f)


def test_array_yaml_matches_builtin(tmp_path):
    from pathlib import Path

    yaml_array = load_array(Path(__file__).parents[1] / "configs/arrays/notsofar_mc.yaml")
    builtin = BUILTIN["notsofar_mc"]
    assert yaml_array.num_channels == builtin.num_channels == 7
    import numpy as np

    np.testing.assert_allclose(yaml_array.as_array(), builtin.as_array(), atol=1e-7)
    radii = np.linalg.norm(builtin.as_array()[1:, :2], axis=1)
    np.testing.assert_allclose(radii, 0.0425, atol=1e-7)
    with pytest.raises(NotsofarError, match="has 7 microphones"):
        builtin.check_channels(4, "x.wav")


#: each stage's default config file and the dataclass the CLI falls back to without ``-c``
DEFAULT_CONFIGS = [
    ("transcribe/default.yaml", "notsofar.pipeline.config", "TranscribeConfig"),
    ("enhance/default.yaml", "notsofar.enhance.config", "EnhanceConfig"),
    ("diarize/default.yaml", "notsofar.diarize.config", "DiarizeConfig"),
    ("recognize/faster_whisper.yaml", "notsofar.recognize.config", "RecognizeConfig"),
    ("restore/chain.yaml", "notsofar.restore.config", "RestoreConfig"),
    ("simulate/css.yaml", "notsofar.simulate.config", "SimulateConfig"),
    ("score/notsofar.yaml", "notsofar.score", "ScoreConfig"),
]


@pytest.mark.parametrize(("path", "module", "name"), DEFAULT_CONFIGS)
def test_shipped_default_configs_equal_the_dataclass_defaults(path, module, name):
    """A command run without ``-c`` uses the dataclass defaults; the YAML a user copies and
    edits must say the same, or the documented defaults drift from the real ones."""
    import importlib
    from pathlib import Path

    cls = getattr(importlib.import_module(module), name)
    yaml_path = Path(__file__).resolve().parents[1] / "configs" / path
    assert load_config(cls, yaml_path) == cls()
