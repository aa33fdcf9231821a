import pytest

from ragbench.data.chunking import SentenceChunker, WholeDocumentChunker
from ragbench.errors import ConfigError
from ragbench.generators import ExtractiveGenerator
from ragbench.types import Document, Hit, Query


def test_picks_best_sentence_and_cites_its_document():
    hits = [
        Hit("c1", "d1", "t", "The office is in Oslo. Lunch is at noon.", 0.9, rank=0),
        Hit("c2", "d2", "t", "Staff get 25 vacation days per year. Carry-over ends in March.", 0.8, rank=1),
    ]
    [answer] = ExtractiveGenerator().generate([Query("How many vacation days per year?", "t")], [hits])
    assert answer.text == "Staff get 25 vacation days per year."
    assert answer.citations == ("d2",)
    assert answer.confidence == pytest.approx(1.0)  # every content word of the question is covered
    assert answer.ok


def test_no_context_gives_empty_answer_with_zero_confidence():
    [answer] = ExtractiveGenerator().generate([Query("anything?", "t")], [[]])
    assert answer.text == "" and answer.confidence == 0.0 and answer.citations == ()


def test_bad_settings():
    with pytest.raises(ConfigError):
        ExtractiveGenerator(max_sentences=0)


def test_chunkers():
    doc = Document("d", "t", "One two three. Four five. Six seven eight nine.", title="T")
    whole = list(WholeDocumentChunker()([doc]))
    assert len(whole) == 1 and whole[0].id == "d#0" and whole[0].content == "T\n" + doc.text
    chunks = list(SentenceChunker(max_words=5, overlap=0)([doc]))
    assert [c.text for c in chunks] == ["One two three. Four five.", "Six seven eight nine."]
    assert [c.position for c in chunks] == [0, 1]
    overlapping = list(SentenceChunker(max_words=5, overlap=1)([doc]))
    # "Four five." cannot be shared with the next chunk (2 + 4 words > 5), so no chunk repeats it alone
    assert [c.text for c in overlapping] == ["One two three. Four five.", "Six seven eight nine."]
    longer = list(SentenceChunker(max_words=7, overlap=1)([doc]))
    assert [c.text for c in longer] == ["One two three. Four five.", "Four five. Six seven eight nine."]


def test_an_abbreviation_does_not_cut_the_answer():
    """The old regex split after "Dr." and answered "Dr."-less halves; pysbd keeps the sentence whole."""
    hits = [Hit("c1", "d1", "t", "The lab is run by Dr. Ana Smith since 2019. Lunch is at noon.", 0.9)]
    [answer] = ExtractiveGenerator().generate([Query("Who runs the lab?", "t")], [hits])
    assert answer.text == "The lab is run by Dr. Ana Smith since 2019."


def test_croatian_abbreviations_and_ordinals_stay_inside_the_sentence():
    text = "Ured je na 3. katu, npr. u sobi 12. Voditelj je prof. dr. sc. Ivan Horvat. Ručak je u podne."
    hits = [Hit("c1", "d1", "t", text, 0.9)]
    [answer] = ExtractiveGenerator().generate([Query("Tko je voditelj ureda?", "t", language="hr")], [hits])
    assert answer.text == "Voditelj je prof. dr. sc. Ivan Horvat."
    chunks = list(SentenceChunker(max_words=9, overlap=0)([Document("d", "t", text, language="hr")]))
    assert [c.text for c in chunks] == [
        "Ured je na 3. katu, npr. u sobi 12.",
        "Voditelj je prof. dr. sc. Ivan Horvat.",
        "Ručak je u podne.",
    ]
