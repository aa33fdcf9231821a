"""Dataset loaders on the shared originals, cross-checked against the shared BEIR derivations, and
malformed files rejected with the first bad line named."""

import pytest

from ragbench.config import group_options, load_dataset
from ragbench.data import load_beir
from ragbench.data.loaders import load_exams, load_flashrag, load_hf_folder, load_hotpotqa, load_musique
from ragbench.errors import ConfigError, DatasetError
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def hotpot_dir():
    return require_shared("hotpotqa_sample100")


@pytest.fixture(scope="module")
def musique_dir():
    return require_shared("musique_sample100")


def _beir_gold_titles(ds):
    titles = {d.id: (d.title, d.text) for d in ds.documents}
    return {s.id: sorted(titles[d] for d in s.relevant) for s in ds.samples}


def test_hotpotqa_original_equals_the_beir_derivation(hotpot_dir):
    orig = load_hotpotqa(hotpot_dir / "original/hotpotqa_train.json")
    beir = load_beir(hotpot_dir / "beir", tenant="hotpotqa")
    assert len(orig.samples) == 100 and len(orig.documents) == 994
    by_title = {d.id: (d.title, d.text) for d in orig.documents}
    assert {s.id: sorted(by_title[d] for d in s.relevant) for s in orig.samples} == _beir_gold_titles(beir)
    assert {s.id: s.answers for s in orig.samples} == {s.id: s.answers for s in beir.samples}
    assert all(len(s.relevant) == 2 for s in orig.samples)


def test_musique_original_equals_the_beir_derivation(musique_dir):
    orig = load_musique(musique_dir / "original/musique_train.json")
    beir = load_beir(musique_dir / "beir", tenant="musique")
    assert len(orig.samples) == 100 and len(orig.documents) == 1890
    by_id = {d.id: (d.title, d.text) for d in orig.documents}
    assert {s.id: sorted(by_id[d] for d in s.relevant) for s in orig.samples} == _beir_gold_titles(beir)
    meta = {s.id: s.metadata for s in beir.samples}
    for s in orig.samples:
        assert s.answers == tuple(dict.fromkeys([meta[s.id]["answer"], *meta[s.id]["answer_aliases"]]))


def test_flashrag_and_exams_counts_and_fields():
    fr = require_shared("flashrag_quickstart")
    ds = load_flashrag(fr / "nq/test.jsonl", corpus=fr / "corpus/sample_data.jsonl")
    assert len(ds.samples) == 17 and len(ds.documents) == 1000  # the last line has no newline: still read
    assert ds.samples[0].answers == ("Wilhelm Conrad Röntgen",)
    first = next(d for d in ds.documents if d.id == "0")
    assert first.title == "Evan Morris" and first.text.startswith("Evan Morris Evan L. Morris")
    ex = require_shared("exams_south_slavic")
    hr = load_exams(ex / "with_paragraphs/dev_hr_with_para.jsonl")
    sr = load_exams(ex / "with_paragraphs/dev_sr_with_para.jsonl")
    assert (len(hr.samples), len(sr.samples)) == (538, 314)
    assert hr.tenants == ["exams-hr"] and {s.language for s in sr.samples} == {"sr"}
    for s in hr.samples:
        key, text = s.answers
        assert f"\n{key}) {text}" in s.question and s.metadata["answer_key"] == key
    no_para = load_exams(ex / "no_paragraphs/train_hr.jsonl", tenant="hr-train", max_queries=5)
    assert len(no_para.samples) == 5 and no_para.documents == []


BAD_CASES = [  # loader, file name, text, line named, message
    (
        load_flashrag,
        "d.jsonl",
        '{"id": "1", "question": "q", "golden_answers": ["a"]}\n\n{"id": "2", "question": "q"}\n',
        3,
        "golden_answers",
    ),
    (
        load_flashrag,
        "d.jsonl",
        '{"id": "1", "question": "q", "golden_answers": ["a"]}\n{"id": 2, oops}\n',
        2,
        "not valid JSON",
    ),
    (load_flashrag, "d.jsonl", '{"id": "1", "question": "q", "golden_answers": "a"}\n', 1, "should be list"),
    (
        load_exams,
        "e.jsonl",
        '{"id": "x", "question": {"stem": "s", "choices": [{"text": "t", "label": "A"}]}, "answerKey": "B"}\n',
        1,
        "answerKey 'B'",
    ),
    (
        load_hotpotqa,
        "h.json",
        '[\n{"_id": "a", "question": "q", "answer": "x", "supporting_facts": [], "context": []},\n'
        '{"_id": "b", "question": "q", "answer": 3, "supporting_facts": [], "context": []}\n]',
        3,
        "'answer' should be str",
    ),
    (
        load_hotpotqa,
        "h.json",
        '[\n{"_id": "a", "question": "q", "answer": "x",\n "supporting_facts": [["T", 0]], "context": [["U", ["s"]]]}\n]',
        2,
        "not in the context",
    ),
    (load_hotpotqa, "h.json", '[\n\n{"_id": "a" "b"}\n]', 3, "not valid JSON"),
    (
        load_musique,
        "m.json",
        '[{"id": "a", "question": "q", "answer": "x", "paragraphs": [{"title": "t", "paragraph_text": "p"}]},\n'
        ' {"id": "b", "question": "q", "answer": "y", "paragraphs": [{"title": "t"}]}]',
        2,
        "paragraph_text",
    ),
]


@pytest.mark.parametrize(("loader", "fname", "text", "line", "message"), BAD_CASES)
def test_malformed_files_name_the_first_bad_line(tmp_path, loader, fname, text, line, message):
    path = tmp_path / fname
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=message) as err:
        loader(path)
    assert f"{path}:{line}:" in str(err.value)


def test_missing_files_and_registry(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_hotpotqa(tmp_path / "nope.json")
    assert {"beir_scifact", "hotpotqa", "musique", "flashrag_nq", "exams_hr", "hf"} <= set(group_options("dataset"))
    with pytest.raises(ConfigError, match="Did you mean: 'hotpotqa'"):
        load_dataset("hotpot_qa")


def test_hf_folder(tmp_path):
    import datasets

    rows = {
        "id": ["a", "b"],
        "question": ["Who?", "Where?"],
        "answers": [{"text": ["Ann"]}, {"text": ["Oslo", "oslo"]}],
        "context": ["Ann wrote it.", "It is in Oslo."],
    }
    datasets.DatasetDict({"test": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "qa"))
    ds = load_dataset("hf", path=tmp_path / "qa", tenant="acme", split="test", context_field="context")
    assert [s.answers for s in ds.samples] == [("Ann",), ("Oslo", "oslo")]
    assert ds.samples[1].relevant == {"b/ctx": 1} and ds.documents[1].text == "It is in Oslo."
    with pytest.raises(DatasetError, match=r"split 'dev' not found; splits: \['test'\]"):
        load_hf_folder(tmp_path / "qa", tenant="acme", split="dev")
    datasets.Dataset.from_dict(dict(rows, question=["Who?", ""])).save_to_disk(str(tmp_path / "q3"))
    with pytest.raises(DatasetError, match=r"row 1 \(id 'b'\)"):
        load_hf_folder(tmp_path / "q3", tenant="acme")
    with pytest.raises(DatasetError, match=r"column\(s\) \['query'\] not found"):
        load_hf_folder(tmp_path / "q3", tenant="acme", question_field="query")
