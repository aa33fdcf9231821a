"""BEIR loaders on the shared data and on malformed input."""

import pytest

from ragbench.data import load_beir, load_tenant_folders, read_qrels
from ragbench.errors import DatasetError, TenantError
from tests.conftest import require_shared


def test_scifact_counts():
    ds = load_beir(require_shared("beir_scifact"), tenant="scifact")
    assert len(ds.documents) == 5183 and len(ds.samples) == 210
    assert sum(len(s.relevant) for s in ds.samples) == 240
    assert all(d.tenant == "scifact" for d in ds.documents)
    assert ds.head(5).samples == list(ds.samples)[:5]


def test_hotpotqa_answers_from_metadata():
    ds = load_beir(require_shared("hotpotqa_sample100") / "beir", tenant="hotpotqa")
    assert len(ds.samples) == 100 and all(s.answers for s in ds.samples)
    assert all(len(s.relevant) == 2 for s in ds.samples)


def test_demo_has_three_tenants_with_gold():
    from ragbench.paths import project_root

    ds = load_tenant_folders(project_root() / "datasets" / "demo")
    assert ds.tenants == ["acme-robotics", "harbor-health", "lastavica-logistika"]
    assert ds.summary() == {
        "acme-robotics": {"documents": 35, "questions": 26},
        "harbor-health": {"documents": 35, "questions": 26},
        "lastavica-logistika": {"documents": 20, "questions": 20},
    }  # Croatian, kept small
    assert all(s.answers and s.relevant for s in ds.samples)
    docs = {d.id: d for d in ds.documents}
    for s in ds.samples:
        own = {d.id for d in ds.documents_of(s.tenant)}
        assert set(s.relevant) <= own
        text = " ".join(f"{docs[d].title} {docs[d].text}" for d in s.relevant).lower()
        assert s.answers[0].lower() in text, s.id  # the first gold answer is a span of a relevant document


def _write_beir(root, corpus, queries, qrels):
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(corpus)
    (root / "queries.jsonl").write_text(queries)
    (root / "qrels" / "test.tsv").write_text(qrels)
    return root


GOOD_CORPUS = '{"_id": "d1", "title": "t", "text": "hello"}\n'
GOOD_QUERIES = '{"_id": "q1", "text": "hi?", "answers": ["hello"]}\n'
GOOD_QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\n"


def test_malformed_files_name_the_bad_line(tmp_path):
    root = _write_beir(tmp_path / "a", GOOD_CORPUS + "{not json\n", GOOD_QUERIES, GOOD_QRELS)
    with pytest.raises(DatasetError, match=r"corpus.jsonl:2: not valid JSON"):
        load_beir(root, tenant="t")
    root = _write_beir(tmp_path / "b", GOOD_CORPUS, '{"_id": "q1"}\n', GOOD_QRELS)
    with pytest.raises(DatasetError, match=r"queries.jsonl:1: missing field\(s\) \['text'\]"):
        load_beir(root, tenant="t")
    root = _write_beir(tmp_path / "c", GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\td1\n")
    with pytest.raises(DatasetError, match=r"test.tsv:2: expected 3 tab-separated fields"):
        load_beir(root, tenant="t")
    root = _write_beir(tmp_path / "d", GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\tnope\t1\n")
    with pytest.raises(DatasetError, match="refers to documents not in corpus.jsonl"):
        load_beir(root, tenant="t")


def test_missing_folder_and_bad_tenant(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_beir(tmp_path / "nope", tenant="t")
    root = _write_beir(tmp_path / "ok", GOOD_CORPUS, GOOD_QUERIES, GOOD_QRELS)
    with pytest.raises(TenantError):
        load_beir(root, tenant="../x")
    ds = load_beir(root, tenant="t")
    assert ds.samples[0].answers == ("hello",)
    assert read_qrels(root / "qrels" / "test.tsv") == {"q1": {"d1": 1}}
