"""Per-tenant full-text analysis on real LanceDB tables and real ingestion jobs: the rule from a tenant's
languages, Croatian read without English rules, Chinese segmented, and a rebuild when the languages change."""

from __future__ import annotations

import io
import json

import pytest

from ragbench.cli import main
from ragbench.data.chunking import WholeDocumentChunker
from ragbench.errors import ConfigError, TenantError
from ragbench.ingestion.ingest import ingest_items
from ragbench.ingestion.loaders import iter_jsonl
from ragbench.ingestion.tenants import create_tenant, describe_tenant, update_settings
from ragbench.stores.lancedb import LanceDBStore
from ragbench.stores.text_analysis import TextAnalysis, analysis_for

CROATIAN = [
    "Tvrtku su osnovali Nevenka Šimić i Dario Žužić u Čakovcu. On je i danas predsjednik uprave.",
    "Lozinke se mijenjaju svakih 120 dana i moraju imati najmanje 16 znakova.",
    "Porta je otvorena od 5:30 do 22:00, a uredi rade od 7:30 do 16:00.",
    "Izgubljeno računalo prijavljuje se informatičkoj službi u roku od 4 sata.",
]
ENGLISH = ["Staff get 25 days of paid vacation every year.", "Passwords are changed every 90 days by all staff."]


def _ingest(store, tenant, texts):
    lines = "\n".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(texts))
    return ingest_items(
        iter_jsonl(io.StringIO(lines), source="t"),
        tenant=tenant,
        store=store,
        embedder=None,
        chunker=WholeDocumentChunker(),
    )


def _details(store, tenant):
    [idx] = [i for i in store._table(tenant).list_indices() if i.columns == ["content"]]
    return idx.index_details


def _found(store, tenant, query):
    return [h.text[:20] for h in store.search_text(tenant, query, k=5)]


def test_the_rule_from_languages_to_analysis():
    assert analysis_for(["en"]) == TextAnalysis(language="English", stem=True, remove_stop_words=True)
    assert analysis_for(["de"]).language == "German" and analysis_for(["ru"]).stem
    for codes in (["hr"], ["sr"], ["hr", "sr"], ["en", "hr"], ["xx"]):  # no stemmer, or several languages
        assert analysis_for(codes) == TextAnalysis(), codes
    assert analysis_for(["zh"]).base_tokenizer == "icu" and not analysis_for(["ja", "en"]).stem
    assert analysis_for("en,hr") == TextAnalysis()
    with pytest.raises(ConfigError, match=r"ISO 639-1 codes such as 'hr'.*got \['Croatian'\]"):
        analysis_for(["Croatian"])
    with pytest.raises(ConfigError, match="store.text_analysis"):
        LanceDBStore("/tmp/unused", text_analysis="English")


def test_croatian_tenant_is_read_without_english_rules(tmp_path):
    store = LanceDBStore(tmp_path / "db")
    job = _ingest(store, "lastavica", CROATIAN)
    assert job.status == "completed"
    assert describe_tenant(store, "lastavica")["detected_languages"] == ["hr"]  # recorded by the job
    details = _details(store, "lastavica")
    assert (
        not details["stem"] and not details["remove_stop_words"] and details["ascii_folding"] and details["lower_case"]
    )
    assert _found(store, "lastavica", "cakovcu") == ["Tvrtku su osnovali N"]  # typed without diacritics
    assert _found(store, "lastavica", "on") == ["Tvrtku su osnovali N"]  # Croatian "on" (he) is a word
    english = LanceDBStore(tmp_path / "db", text_analysis="en")  # English rules for every tenant, as before
    assert english.text_analysis_for("lastavica").stem
    assert _found(english, "lastavica", "on") == []  # an English stop word: the sentence cannot be found
    assert _details(english, "lastavica")["stem"]  # the stale index was rebuilt before searching
    assert _found(store, "lastavica", "on") == ["Tvrtku su osnovali N"]  # and back (a new store object)


def test_english_tenant_keeps_english_stemming_and_chinese_is_segmented(tmp_path):
    store = LanceDBStore(tmp_path / "db")
    _ingest(store, "acme", ENGLISH)
    assert _details(store, "acme")["stem"] and _details(store, "acme")["language"] == "English"
    assert _found(store, "acme", "password change") == ["Passwords are change"]  # stems: passwords/changed
    create_tenant(store, "tokyo", settings={"languages": ["zh"]})  # the detector does not know Chinese
    _ingest(store, "tokyo", ["东京是日本的首都，人口很多。", "北京是中国的首都。"])
    assert _details(store, "tokyo")["base_tokenizer"] == "icu"
    assert len(store.search_text("tokyo", "首都", k=5)) == 2 and _found(store, "tokyo", "日本") == [
        "东京是日本的首都，人口很多。"
    ]


def test_changing_a_tenants_languages_rebuilds_its_index(tmp_path, capsys):
    store = LanceDBStore(tmp_path / "db")
    _ingest(store, "acme", ENGLISH)
    assert _details(store, "acme")["stem"]
    record = update_settings(store, "acme", languages="hr")  # e.g. its users will ask in Croatian
    assert record["settings"]["languages"] == ["hr"] and record["detected_languages"] == ["en"]
    assert not _details(store, "acme")["stem"]  # rebuilt at once, before any search
    assert store.rebuild_text_index("acme") is False  # nothing changed: no rebuild
    update_settings(store, "acme", languages=None)  # back to the detected languages
    assert _details(store, "acme")["stem"] and "languages" not in describe_tenant(store, "acme")["settings"]
    with pytest.raises(TenantError, match="got \\['h r'\\].*ragbench tenants create T --exist-ok --languages hr"):
        update_settings(store, "acme", languages=["h r"])
    home = f"store.uri={tmp_path / 'db'}"
    assert main(["tenants", "create", "acme", "--exist-ok", "--languages", "en,hr", home]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["languages"] == ["en", "hr"]
    assert not _details(store, "acme")["stem"]
    assert main(["tenants", "describe", "acme", home]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["text_analysis"] == {"languages": ["en", "hr"], **TextAnalysis().as_dict()}
