"""A small JSON API served next to the Panel app (load tests, scripts).

    POST /api/ask       {"tenant": "...", "question": "...", "preset": "hybrid", "k": 5}
    GET  /api/tenants   the signed-in user's tenants
    GET  /api/jobs/<ticket> a dashboard ingestion submission and its job's status

Requests carry the same ``rb_session`` cookie as the app (sign in at ``/login``) and
are resolved through the same server-side session store, so logout and expiry apply here
exactly as in the app. Every handler checks the tenant with
:func:`ragbench.dashboard.auth.require_access`. Every request must name this server in
``Host`` and a POST must carry a same-origin ``Origin`` header
(:class:`~ragbench.dashboard.gate.RequestGuard`); an open (no users file) dashboard answers
only loopback clients. Bad JSON, a wrong type or a body over :data:`MAX_BODY_BYTES` is a
400/413 with the reason. ``panel serve dashboards/app.py --plugins ragbench.dashboard.api``
adds these routes to a plain ``panel serve`` (loopback names only).
"""

from __future__ import annotations

import asyncio
import json

from tornado.web import RequestHandler

from ragbench.dashboard.auth import AccessDeniedError, User, is_local_address
from ragbench.dashboard.sessions import COOKIE

#: Largest ``/api/ask`` body accepted (a question and a few fields).
MAX_BODY_BYTES = 2**20


class _Base(RequestHandler):
    def prepare(self) -> None:
        from ragbench.dashboard.gate import RequestGuard
        from ragbench.dashboard.service import get_service

        # ragbench dashboard already guards every route; this covers `panel serve --plugins`
        refusal = (get_service().guard or RequestGuard(None)).refusal(self.request)
        if refusal:
            self._send(403, {"error": refusal})

    def _user(self) -> User | None:
        from ragbench.dashboard.service import get_service

        svc = get_service()
        if svc.open_mode:
            return svc.user_for(None) if is_local_address(self.request.remote_ip or "") else None
        if svc.gate is None:  # a users file but no sign-in (plain panel serve): nobody is signed in
            return None
        return svc.gate.user(self.get_cookie(COOKIE))

    def _send(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def _signed_in(self) -> User | None:
        user = self._user()
        if user is None:
            self._send(
                401, {"error": "Not signed in: POST username and password to /login first, then send its cookie."}
            )
        return user

    def check_xsrf_cookie(self) -> None:  # same-origin proof is the guard's Origin rule (see prepare)
        return None


def parse_ask(raw: bytes) -> tuple[dict, str | None]:
    """The ``QueryRequest`` fields and preset of an ``/api/ask`` body; ``ValueError`` says what is wrong.

    Example:
        >>> parse_ask(b'{"tenant": "acme", "question": "Hi?", "preset": "bm25"}')
        ({'tenant': 'acme', 'question': 'Hi?'}, 'bm25')
    """
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError(f"body of {len(raw)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    preset = body.pop("preset", None)
    if preset is not None and not isinstance(preset, str):
        raise ValueError(
            f"preset must be a string (a preset name), got {type(preset).__name__} {json.dumps(preset)[:60]}"
        )
    return body, preset


class AskHandler(_Base):
    async def post(self) -> None:
        from pydantic import ValidationError

        from ragbench.dashboard.service import get_service
        from ragbench.errors import RagbenchError
        from ragbench.schema import QueryRequest

        user = self._signed_in()
        if user is None:
            return
        try:
            body, preset = parse_ask(self.request.body)
            request = QueryRequest(**body)
        except (ValueError, TypeError, ValidationError) as exc:
            status = 413 if len(self.request.body) > MAX_BODY_BYTES else 400
            return self._send(
                status,
                {
                    "error": f"Bad request: {exc}. Send a JSON object with tenant, question, "
                    f"optional k and preset (a string)."
                },
            )
        svc = get_service()
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(svc.executor, lambda: svc.ask(user, request, preset=preset))
        except AccessDeniedError as exc:
            return self._send(403, {"error": str(exc)})
        except RagbenchError as exc:
            return self._send(400, {"error": str(exc)})
        self._send(200, response.model_dump())


class TenantsHandler(_Base):
    def get(self) -> None:
        from ragbench.dashboard.service import get_service

        user = self._signed_in()
        if user is not None:
            self._send(200, {"user": user.name, "role": user.role, "tenants": get_service().tenants_for(user)})


class JobHandler(_Base):
    def get(self, job_id: str) -> None:  # the id is a submission ticket (its job id comes later)
        from ragbench.dashboard.service import get_service

        user = self._signed_in()
        if user is None:
            return
        jobs = get_service().jobs
        sub = jobs.submission(job_id)
        if sub is None or not user.can_access(sub.tenant):
            return self._send(404, {"error": f"No ingestion submission {job_id!r} visible to {user.name!r}."})
        state, error, job = jobs.progress(job_id)  # the state first (see JobManager.progress)
        body = {"ticket": sub.ticket, "tenant": sub.tenant, "state": state, "error": error, "job": None}
        if job is not None:
            body["job"] = {**job.model_dump(), "progress": job.progress}
        self._send(200, body)


#: Routes in the form ``panel serve --plugins`` and ``get_server(extra_patterns=...)`` take.
ROUTES = [
    (r"/api/ask", AskHandler),
    (r"/api/tenants", TenantsHandler),
    (r"/api/jobs/([0-9a-f]+)", JobHandler),
]
