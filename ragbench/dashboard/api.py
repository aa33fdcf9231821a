"""A small JSON API served next to the Panel app (load tests, scripts).

    POST /api/ask       {"tenant": "...", "question": "...", "preset": "hybrid", "k": 5}
    GET  /api/tenants   the signed-in user's tenants
    GET  /api/jobs/<ticket> a dashboard ingestion submission and its job's status

Requests carry the same signed ``user`` cookie as the app (sign in at ``/login``).
Every handler resolves the user on the server and checks the tenant with
:func:`ragbench.dashboard.auth.require_access`; an open (no users file) dashboard
answers only loopback clients. ``panel serve dashboards/app.py --plugins
ragbench.dashboard.api`` adds these routes to a plain ``panel serve``.
"""

from __future__ import annotations

import asyncio
import json

from tornado.web import RequestHandler

from ragbench.dashboard.auth import AccessDeniedError, User, is_local_address


class _Base(RequestHandler):
    def _user(self) -> User | None:
        from ragbench.dashboard.service import get_service

        svc = get_service()
        if svc.open_mode:
            return svc.user_for(None) if is_local_address(self.request.remote_ip or "") else None
        if not self.application.settings.get("cookie_secret"):
            return None
        name = self.get_secure_cookie("user", max_age_days=30)
        return svc.user_for(name.decode("utf-8") if name else None)

    def _send(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def _signed_in(self) -> User | None:
        user = self._user()
        if user is None:
            self._send(401, {"error": "Not signed in: POST username and password to /login first, then send its cookie."})
        return user

    def check_xsrf_cookie(self) -> None:  # the API is cookie-authenticated JSON, not a form
        return None


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
            body = json.loads(self.request.body or b"{}")
            preset = body.pop("preset", None)
            request = QueryRequest(**body)
        except (ValueError, TypeError, ValidationError) as exc:
            return self._send(400, {"error": f"Bad request: {exc}. Send JSON with tenant, question, optional k and preset."})
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
        job = jobs.job(job_id)
        body = {"ticket": sub.ticket, "tenant": sub.tenant, "state": sub.state, "error": sub.error, "job": None}
        if job is not None:
            body["job"] = {**job.model_dump(), "progress": job.progress}
        self._send(200, body)


#: Routes in the form ``panel serve --plugins`` and ``get_server(extra_patterns=...)`` take.
ROUTES = [
    (r"/api/ask", AskHandler),
    (r"/api/tenants", TenantsHandler),
    (r"/api/jobs/([0-9a-f]+)", JobHandler),
]
