"""The Ask tab's source cards (``ragbench.dashboard._html.sources``): readable titles, never a hash id when
the document's record names a file, the chunk's Markdown rendered and any HTML in it escaped."""

from __future__ import annotations

from ragbench.dashboard import _html
from ragbench.schema import Source


def _source(doc_id: str, text: str, *, title: str = "", rank: int = 0, cited: bool = False) -> Source:
    return Source(doc_id=doc_id, chunk_id=f"{doc_id}#0", title=title, text=text, score=0.5, rank=rank, cited=cited)


def test_card_titles_prefer_titles_then_file_names_never_the_hash_id():
    docs = {
        "3f9a0c77e1d2": {"key": "upload:notes.jsonl#bikes", "title": "", "language": "en", "source": "notes.jsonl"},
        "acme-001": {
            "key": "doc:acme-001",
            "title": "Annual Vacation Policy",
            "language": "en",
            "source": "/d/c.jsonl",
        },
        "b7e4": {"key": "folder:/srv/docs/guide.md", "title": "", "language": "hr", "source": "/srv/docs/guide.md"},
    }
    html = _html.sources(
        [
            _source("3f9a0c77e1d2", "Bikes."),
            _source("acme-001", "Leave.", rank=1),
            _source("b7e4", "Vodič.", rank=2),
            _source("c0ffee", "No record.", title="Own title", rank=3),
            _source("d00d", "Nothing known.", rank=4),
        ],
        docs,
    )
    titles = [part.split("</span>", 1)[0] for part in html.split('<span class="rb-source-title">')[1:]]
    assert titles == ["notes.jsonl#bikes", "Annual Vacation Policy", "guide.md", "Own title", "d00d"]
    assert html.count('<div class="rb-source">') == 5
    assert '<span class="rb-lang">hr</span>' in html and '<code class="rb-doc-id">3f9a0c77e1d2</code>' in html


def test_chunk_markdown_is_rendered_and_html_in_it_escaped():
    text = "# Bike cellar\n\nThe **bike cellar** is behind the *blue door*.\n\n- opens at 6:00\n- closes at 22:00\n\n<img src=x onerror=alert(1)>"
    html = _html.sources([_source("d1", text, title="Bikes", cited=True)])
    assert "<strong>bike cellar</strong>" in html and "<em>blue door</em>" in html
    assert "<li>opens at 6:00</li>" in html and "<h1>Bike cellar</h1>" in html
    assert "**" not in html and "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<span class="rb-cited">cited</span>' in html


def test_long_chunks_are_cut_and_no_sources_say_so():
    html = _html.sources([_source("d1", "word " * 400, title="Long")])
    assert "…" in html and html.count("word") == 120
    assert "No sources retrieved." in _html.sources([])
