"""The service chooses the queries it traces by a salted hash of the request id: a client may send its
own ``X-Request-ID``, and with a plain hash it could pick ids that are always traced (each trace costs
the server ~45 ms of export CPU, docs/deploy.md). Evaluation runs keep the plain hash (a re-run traces
the same questions)."""

from __future__ import annotations

from ragbench.service.settings import ServiceSettings
from ragbench.tracking.traces import Tracer, is_sampled


def test_request_ids_chosen_to_be_traced_are_traced_only_at_the_sample_rate(monkeypatch):
    monkeypatch.delenv("RAGBENCH_TRACE_SALT", raising=False)
    chosen = [i for i in (f"req-{n}" for n in range(5000)) if is_sampled(i, 0.1)][:200]  # all in the plain sample
    assert len(chosen) == 200
    settings = ServiceSettings()
    traced = sum(is_sampled(i, settings.trace_sample, settings.trace_salt) for i in chosen)
    assert 0 < traced < 60  # about 20 of 200 (10%); all 200 without the salt
    assert ServiceSettings().trace_salt != settings.trace_salt and len(settings.trace_salt) == 32  # random per start
    assert "trace_salt" not in repr(settings)
    # `ragbench serve` hands its settings to the workers as JSON: they share the salt, so they agree
    assert ServiceSettings.model_validate_json(settings.model_dump_json()).trace_salt == settings.trace_salt


def test_an_operator_can_set_the_salt_so_replicas_agree(monkeypatch):
    monkeypatch.setenv("RAGBENCH_TRACE_SALT", "replicas-agree")
    a, b = ServiceSettings(), ServiceSettings()
    assert a.trace_salt == b.trace_salt == "replicas-agree"
    ids = [f"req-{n}" for n in range(400)]
    assert [is_sampled(i, 0.1, a.trace_salt) for i in ids] != [is_sampled(i, 0.1) for i in ids]


def test_the_service_state_passes_the_salt_to_its_tracer(tmp_path, monkeypatch):
    from ragbench.service.state import ServiceState

    seen = {}

    def from_tracker(tracker, **kwargs):
        seen.update(kwargs)
        return None

    monkeypatch.setattr(Tracer, "from_tracker", staticmethod(from_tracker))
    settings = ServiceSettings(overrides=[f"home={tmp_path}", "retriever=bm25", "generator=extractive"], open=True)
    ServiceState.build(settings)
    assert seen == {"sample": 0.1, "source": "service", "salt": settings.trace_salt}
