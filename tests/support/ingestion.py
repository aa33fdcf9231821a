"""Builders for ingestion tests, benchmarks and docs: small real files of every supported type.

``make_pdf`` writes a genuine one-page PDF with a text layer (hand-built, no PDF library
needed); ``make_docx`` uses python-docx. :class:`FlakyEmbedder` is a FAKE failure source:
it wraps a real embedder and raises on chosen calls, to exercise retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def make_pdf(path: str | Path, text: str, *, title: str = "") -> Path:
    """Write a one-page PDF whose text layer is ``text`` (ASCII, one line per ``\\n``)."""
    lines = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").split("\n")
    ops = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out.encode("latin-1")))
        out += f"{i} 0 obj\n{body}\nendobj\n"
    xref = len(out.encode("latin-1"))
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    path = Path(path)
    path.write_bytes(out.encode("latin-1"))
    return path


def make_docx(path: str | Path, paragraphs: Sequence[str], *, title: str = "") -> Path:
    """Write a .docx with ``paragraphs`` (python-docx)."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = title
    for para in paragraphs:
        doc.add_paragraph(para)
    doc.save(str(path))
    return Path(path)


class FlakyEmbedder:
    """FAKE failure source: a real embedder whose calls number ``fail_calls`` (1-based) raise.

    Example:
        >>> FlakyEmbedder(real, fail_calls={1}).embed_documents(["x"])  # doctest: +SKIP
        Traceback (most recent call last):
        RuntimeError: injected embedder failure on call 1
    """

    def __init__(self, inner, *, fail_calls: set[int] | None = None, fail_on_text: str | None = None) -> None:
        self.inner, self.fail_calls, self.fail_on_text = inner, set(fail_calls or ()), fail_on_text
        self.model_id, self.dim = inner.model_id, inner.dim
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]):
        self.calls += 1
        if self.calls in self.fail_calls:
            raise RuntimeError(f"injected embedder failure on call {self.calls}")
        if self.fail_on_text and any(self.fail_on_text in t for t in texts):
            raise RuntimeError(f"injected embedder failure on text containing {self.fail_on_text!r}")
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]):
        return self.inner.embed_queries(texts)
