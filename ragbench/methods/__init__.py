"""RAG methods: how a question becomes retrieval queries, context and an answer.

Each method is a small class built from the run's parts (a retriever, a generator, an LLM for
intermediate steps; :func:`ragbench.config.build` injects them by parameter name) and chosen with
the ``method`` config group (``configs/method/*.yaml``, ``method=standard`` by default):

==============  ==============================================================================
standard        retrieve ``k`` chunks with the question, answer from them
closed_book     the question alone, no retrieval (the floor of a table)
oracle          the gold passages of the question (qrels; the ceiling)
rewrite         the LLM rewrites the question into a search query
hyde            retrieve with an LLM-written hypothetical answer passage
multi_query     n LLM paraphrases, each retrieved, fused with RRF
decompose       sub-questions answered in turn, then the final answer (self-ask style)
iterative       reasoning sentence, retrieval, ... until the answer or a round limit (IRCoT style)
adaptive        retrieve only when the closed-book draft's confidence is low
refine          compress the retrieved context (extractive sentences or an LLM summary)
conversational  a follow-up plus its conversation becomes a standalone question
==============  ==============================================================================

Every method returns :class:`MethodResult` per question, whose :class:`~ragbench.types.MethodTrace`
(queries, sub-questions, LLM calls, tokens, rounds, ...) reaches the per-question table. See docs/methods.md.
"""

from ragbench.methods.adaptive import Adaptive
from ragbench.methods.base import Method, MethodResult, summarize
from ragbench.methods.conversational import Condenser, Conversational
from ragbench.methods.decompose import Decompose
from ragbench.methods.hyde import HyDE
from ragbench.methods.iterative import Iterative
from ragbench.methods.multi_query import MultiQuery
from ragbench.methods.refine import Refine
from ragbench.methods.rewrite import Rewrite
from ragbench.methods.standard import ClosedBook, Oracle, Standard
from ragbench.methods.steps import StepPrompt

__all__ = [
    "Adaptive",
    "ClosedBook",
    "Condenser",
    "Conversational",
    "Decompose",
    "HyDE",
    "Iterative",
    "Method",
    "MethodResult",
    "MultiQuery",
    "Oracle",
    "Refine",
    "Rewrite",
    "Standard",
    "StepPrompt",
    "summarize",
]
