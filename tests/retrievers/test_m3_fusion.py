"""Weighted-score fusion and the FusionRetriever (RRF or weighted) on fixed hit lists."""

import pytest

from ragbench.errors import ConfigError
from ragbench.retrievers.fusion import FusionRetriever, rrf_fuse, weighted_fuse
from ragbench.types import Hit, Query


def _hits(pairs):
    return [Hit(c, c, "t", "", s, rank=i) for i, (c, s) in enumerate(pairs)]


A = _hits([("c1", 10.0), ("c2", 6.0), ("c3", 2.0)])
B = _hits([("c3", 0.9), ("c2", 0.5), ("c4", 0.1)])


def test_weighted_fuse_minmax_values():
    fused = weighted_fuse([A, B], k=4, weights=[0.25, 0.75])
    # A -> c1 1, c2 .5, c3 0 ; B -> c3 1, c2 .5, c4 0
    assert [(h.chunk_id, round(h.score, 6)) for h in fused] == [("c3", 0.75), ("c2", 0.5), ("c1", 0.25), ("c4", 0.0)]
    assert fused[1].scores == {"r0": 6.0, "r1": 0.5}


def test_weighted_fuse_raw_scores_and_errors():
    fused = weighted_fuse([A, B], k=2, weights=[1.0, 10.0], normalize="none")
    # c2: 6 + 10 * 0.5 = 11, c3: 2 + 10 * 0.9 = 11 -> a tie, broken by chunk id
    assert [(h.chunk_id, round(h.score, 6)) for h in fused] == [("c2", 11.0), ("c3", 11.0)]
    with pytest.raises(ConfigError, match="2 rankings"):
        weighted_fuse([A, B], k=2, weights=[1.0])


class Fixed:
    def __init__(self, hits):
        self.hits = hits

    def retrieve(self, queries, k):
        return [self.hits[:k] for _ in queries]


def test_fusion_retriever_methods():
    q = [Query("x", tenant="t")]
    rrf = FusionRetriever([Fixed(A), Fixed(B)], method="rrf").retrieve(q, k=3)[0]
    assert [h.chunk_id for h in rrf] == [h.chunk_id for h in rrf_fuse([A, B], k=3)]
    weighted = FusionRetriever([Fixed(A), Fixed(B)], method="weighted", weights=[0.25, 0.75]).retrieve(q, k=2)[0]
    assert [h.chunk_id for h in weighted] == ["c3", "c2"]
    with pytest.raises(ConfigError, match="Unknown fusion method 'sum'"):
        FusionRetriever([Fixed(A), Fixed(B)], method="sum")
