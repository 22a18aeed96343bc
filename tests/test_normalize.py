"""Text normalization: the NOTSOFAR-1 rules on examples, and idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notsofar.errors import NotsofarError
from notsofar.normalize import SCHEMES, normalize

TABLE = [
    ("Hello, World!", "hello world"),
    ("OKAY. Okay? o.k. ok", "ok ok ok ok"),
    ("I can't, won't and shouldn't.", "i can not will not and should not"),
    (
        "We're here; they'll come; I've seen; I'm in; you'd go",
        "we are here they will come i have seen i am in you would go",
    ),
    ("It's John's", "it is john is"),  # as CHiME-8: every 's becomes "is"
    ("let's go, y'all", "let us go you all"),
    ("<laugh> yes [noise] (inaudible) no", "yes no"),
    ("Hmm, uh, um, ah, eh, mhm, huh... right", "right"),
    ("oh no", "oh no"),  # "oh" is a word, not a filler
    ("I have 3 items and 21 ideas", "i have three items and twenty one ideas"),
    ("the 3rd and 101st", "the third and one hundred and first"),
    ("5% of $20", "five percent of twenty dollars"),
    ("1,000 people in the 1990s", "one thousand people in the nineteen nineties"),
    ("pi is 3.14", "pi is three point one four"),
    ("Café naïve résumé", "cafe naive resume"),
    ("The colour of the centre", "the color of the center"),
    ("Mr Smith and Dr. Jones", "mister smith and doctor jones"),
    ("don’t (curly apostrophe)", "do not"),
    ("   spaced\tout\n words ", "spaced out words"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_notsofar_normalizer_examples(text, expected):
    assert normalize(text) == expected


def test_other_schemes():
    assert normalize("Hello, World", scheme="none") == "Hello, World"
    assert normalize("Hello, World. It's colour, uh, 3!", scheme="whisper") == (
        "hello world it is color 3"
    )
    with pytest.raises(NotsofarError, match="unknown normalizer 'bogus'"):
        normalize("x", scheme="bogus")
    assert SCHEMES == ("notsofar", "whisper", "none")


CHARS = list("abcdeghikmnorstuyz ABCOK0123456789.,;:!?'’-%$<>[]()éü&/\"\t")
TEXT = st.lists(
    st.sampled_from(CHARS + ["okay", "hmm", "n't", "'s", "uh", "1990s", "3rd", " o.k. "]),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_notsofar_normalizer_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert once == " ".join(once.split())  # single spaces, no edges


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_notsofar_normalizer_is_idempotent_on_any_unicode(text):
    once = normalize(text)
    assert normalize(once) == once
