"""A DSPy RAG program: a ragbench retriever finds passages, a ``dspy.LM`` on a vLLM server answers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ragbench.errors import require

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not reach the network at import
dspy = require("dspy", package="dspy")

from ragbench.generators._base import cache_salt  # noqa: E402
from ragbench.generators._citations import parse_citations  # noqa: E402
from ragbench.protocols import Retriever  # noqa: E402
from ragbench.tenancy import validate_tenant_id  # noqa: E402
from ragbench.types import Query  # noqa: E402


def make_lm(
    base_url: str,
    model: str,
    *,
    tenant: str | None = None,
    api_key: str = "EMPTY",
    max_tokens: int = 64,
    temperature: float = 0.0,
    extra_body: Mapping[str, Any] | None = None,
    **kwargs: Any,
):
    """A ``dspy.LM`` for a served model on an OpenAI-compatible server (e.g. ``VLLMServer.base_url``).

    With ``tenant`` every request carries that tenant's ``cache_salt`` (prefix-cache isolation).
    ``extra_body`` goes to the server as is (e.g. vLLM ``structured_outputs``).

    Example:
        >>> lm = make_lm("http://127.0.0.1:8000/v1", "tiny-qwen2", tenant="acme")  # doctest: +SKIP
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    body = dict(extra_body or {})
    if tenant is not None:
        body["cache_salt"] = cache_salt(tenant)
    return dspy.LM(
        f"openai/{model}",
        api_base=base_url,
        api_key=api_key,
        max_tokens=max_tokens,
        temperature=temperature,
        cache=False,
        num_retries=0,
        extra_body=body or None,
        **kwargs,
    )


class GenerateAnswer(dspy.Signature):
    """Answer the question using only the numbered context passages. Cite the passages you use as [n]."""

    context: list[str] = dspy.InputField(desc="numbered passages, most relevant first")
    question: str = dspy.InputField()
    answer: str = dspy.OutputField(desc="a short answer with [n] citations")


class RAGProgram(dspy.Module):
    """Retrieve ``k`` passages for the tenant with a ragbench retriever, then answer with DSPy.

    The LM belongs to the program and is applied with ``dspy.context`` on each call (no
    process-wide ``dspy.configure``), so programs with different LMs run side by side and
    copies made by optimizers (``reset_copy``) keep it.

    Args:
        retriever: Any :class:`~ragbench.protocols.Retriever` (BM25, dense, hybrid...).
        tenant: Default tenant of the questions (an example may carry its own ``tenant``).
        k: Passages retrieved per question.
        lm: The ``dspy.LM`` that answers (see :func:`make_lm`).
        chain_of_thought: Reason before answering (``dspy.ChainOfThought``).
        max_passage_chars: Each passage is cut to this many characters (small models have short contexts).

    Example:
        >>> program = RAGProgram(BM25Retriever(store), tenant="acme-robotics", lm=lm)  # doctest: +SKIP
        >>> program(question="How many vacation days?").answer  # doctest: +SKIP
    """

    def __init__(
        self,
        retriever: Retriever,
        *,
        tenant: str,
        k: int = 3,
        lm=None,
        chain_of_thought: bool = False,
        max_passage_chars: int = 1000,
    ) -> None:
        super().__init__()
        self.max_passage_chars = max_passage_chars
        self.retriever = retriever
        self.tenant = validate_tenant_id(tenant)
        self.k = k
        self.lm = lm
        self.generate = (dspy.ChainOfThought if chain_of_thought else dspy.Predict)(GenerateAnswer)

    def forward(self, question: str, tenant: str | None = None):
        tenant = validate_tenant_id(tenant or self.tenant)
        hits = self.retriever.retrieve([Query(question, tenant)], self.k)[0]
        context = [
            f"[{i}] {h.title + ': ' if h.title else ''}{h.text[: self.max_passage_chars]}"
            for i, h in enumerate(hits, 1)
        ]
        if self.lm is not None:
            with dspy.context(lm=self.lm):
                pred = self.generate(context=context, question=question)
        else:
            pred = self.generate(context=context, question=question)
        citations, _ = parse_citations(pred.answer or "", hits)
        return dspy.Prediction(answer=pred.answer, hits=hits, context=context, citations=citations)
