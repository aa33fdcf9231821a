"""The Panel app: one page with Ask, Documents, Experiments and Monitor tabs.

Views only lay out widgets and call :class:`~ragbench.dashboard.service.DashboardService`;
every tenant a view touches is checked there again on the server. Panel is imported
inside functions so importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

from ragbench.dashboard import _html
from ragbench.dashboard.auth import AccessDeniedError, User, require_access
from ragbench.dashboard.gate import is_local_host_header
from ragbench.dashboard.service import DashboardService, get_service

__all__ = ["AskView", "create_app", "current_user", "is_local_host_header"]

PAGE_TITLE = "ragbench"
#: The signed-out note is a new root outside the template's areas: shown on top, where one looks.
SIGNED_OUT_STYLE = (
    "position: fixed; top: 90px; left: 50%; transform: translateX(-50%); z-index: 1000; font-size: 16px; "
    "background: #fff3cd; border: 1px solid #e0a800; border-radius: 6px; padding: 12px 20px"
)


def current_user(svc: DashboardService) -> tuple[User | None, str | None]:
    """The session's user, or ``(None, reason)`` when the session may not use the app.

    With a users file the user comes only from the signed, server-side session cookie
    (:class:`~ragbench.dashboard.gate.Gate`), never from ``pn.state.user``: Panel turns an
    unsigned ``is_guest`` cookie into the user "guest".
    """
    import panel as pn

    ctx = pn.state.curdoc.session_context if pn.state.curdoc else None
    request = ctx.request if ctx is not None else None
    if svc.open_mode:
        if not is_local_host_header(request.headers.get("Host", "") if request is not None else "localhost"):
            return None, (
                "This dashboard runs without authentication and answers only on localhost. "
                "Start it with --users and --cookie-secret to serve other addresses."
            )
        return svc.user_for(None), None
    if svc.gate is None:
        return None, (
            "This dashboard has a users file but no sign-in: serve it with `ragbench dashboard --users ...` "
            "(plain `panel serve` cannot check ragbench's sessions)."
        )
    user = svc.gate.user_from_cookies(request.cookies if request is not None else {})
    if user is None:
        return (
            None,
            "Your session has ended (signed out, expired or removed from the users file): sign in again at /login.",
        )
    return user, None


def sign_out_on_revoke(svc: DashboardService) -> None:
    """Clear this page when its session is revoked (logout elsewhere), so an open websocket dies with it."""
    import panel as pn

    from ragbench.dashboard.sessions import COOKIE

    doc = pn.state.curdoc
    request = doc.session_context.request if doc is not None and doc.session_context else None
    if svc.gate is None or request is None:
        return

    def signed_out() -> None:
        from bokeh.models import Div

        doc.clear()
        doc.add_root(
            Div(
                text=f'<p class="rb-signed-out" style="{SIGNED_OUT_STYLE}">You were signed out: <a href="/login">sign in again</a>.</p>'
            )
        )

    forget = svc.gate.sessions.on_revoke(request.cookies.get(COOKIE), lambda: doc.add_next_tick_callback(signed_out))
    pn.state.on_session_destroyed(lambda ctx: forget())


class AskView:
    """Pick a tenant and preset, ask, watch the stages, read the answer, its sources and the history."""

    def __init__(self, svc: DashboardService, user: User) -> None:
        import panel as pn

        self.svc, self.user = svc, user
        tenants = svc.tenants_for(user)
        self.tenant = pn.widgets.Select(
            name="Tenant",
            options=tenants,
            value=tenants[0] if tenants else None,
            css_classes=["rb-ask-tenant"],
            sizing_mode="stretch_width",
        )
        self.preset = pn.widgets.Select(
            name="Pipeline preset",
            options=list(svc.presets),
            css_classes=["rb-ask-preset"],
            sizing_mode="stretch_width",
        )
        self._docs: dict[str, dict[str, Any]] = {}  # the tenant's document records by id (source titles)
        self.question = pn.widgets.TextInput(
            name="Question",
            placeholder="Ask a question about this tenant's documents",
            css_classes=["rb-ask-question"],
            sizing_mode="stretch_width",
        )
        self.button = pn.widgets.Button(name="Ask", button_type="primary", width=90, align="end")
        self.clear = pn.widgets.Button(name="Clear history", width=120, align="end")
        self.progress = pn.indicators.Progress(value=0, max=3, width=220, bar_color="success")
        self.stage = pn.pane.HTML('<span class="rb-stage">Ready.</span>', sizing_mode="stretch_width")
        self.answer = pn.pane.HTML("", sizing_mode="stretch_width")
        self.sources = pn.pane.HTML("", sizing_mode="stretch_width")
        self.history = pn.pane.HTML("", sizing_mode="stretch_width")
        self.button.on_click(self._ask)
        self.question.param.watch(self._ask, "enter_pressed")
        self.clear.on_click(self._clear)
        self.tenant.param.watch(lambda e: self._render_history(), "value")
        self._render_history()

    def sidebar(self) -> list[Any]:
        """The tenant and preset pickers (the page's sidebar)."""
        return [self.tenant, self.preset] if self.tenant.options else []

    def panel(self):
        import panel as pn

        if not self.tenant.options:
            return pn.pane.Markdown(f"No tenants visible to **{self.user.name}**: ingest documents or ask an admin.")
        return pn.Column(
            pn.Row(self.question, self.button),
            pn.Row(self.progress, self.stage),
            pn.pane.Markdown("### Answer"),
            self.answer,
            pn.pane.Markdown("### Sources"),
            self.sources,
            pn.Row(pn.pane.Markdown("### Conversation"), self.clear),
            self.history,
            sizing_mode="stretch_width",
        )

    def _render_history(self) -> None:
        if not self.tenant.value:
            return
        turns = self.svc.history.turns(self.user.name, self.tenant.value, limit=20)
        self.history.object = (
            "".join(
                f'<div class="rb-turn"><b>Q:</b> {_html.esc(t.question)}<br><b>A:</b> '
                f'<span class="rb-turn-answer">{_html.esc(t.answer) or "<i>(no answer)</i>"}</span> '
                f"{_html.low_confidence(t.payload.get('low_confidence'), None, short=True)}"
                f"<small>({_html.esc(t.payload.get('preset'))}, {t.payload.get('timings', {}).get('total_ms', 0):.0f} ms)</small></div>"
                for t in reversed(turns)
            )
            or '<p class="rb-history-empty">No questions yet.</p>'
        )

    def _clear(self, event=None) -> None:
        self.svc.history.clear(self.user.name, self.tenant.value)
        self._render_history()

    def _show(self, event) -> None:
        if event.stage == "retrieved":  # sources show while the answer is generated
            from ragbench.schema import Source

            self.progress.value = 2
            self.stage.object = (
                f'<span class="rb-stage">Retrieved {len(event.hits)} chunks in {event.ms:.1f} ms · generating…</span>'
            )
            self.sources.object = _html.sources([Source.from_hit(h) for h in event.hits], self._docs)
        elif event.stage == "token":
            self.answer.object = f'<div class="rb-answer">{_html.esc(event.text)}</div>'
        elif event.stage == "answered":
            r = event.response
            self.progress.value = 3
            t = r.timings
            error = f' <span class="rb-error">{_html.esc(r.error)}</span>' if r.error else ""
            standalone = ((r.trace or {}).get("notes") or {}).get("standalone")
            searched = (
                f' <span class="rb-standalone">Searched for: {_html.esc(standalone)}</span>'
                if standalone and standalone != r.question
                else ""
            )  # a follow-up made standalone
            self.stage.object = (
                f'<span class="rb-stage rb-done">Done: retrieve {t.retrieve_ms:.1f} ms · '
                f"generate {t.generate_ms:.1f} ms · total {t.total_ms:.1f} ms</span>{searched}{error}"
            )
            self.answer.object = _html.low_confidence(r.low_confidence, r.relevance) + (
                f'<div class="rb-answer">{_html.esc(r.answer) or "<i>(no answer)</i>"}</div>'
            )
            self.sources.object = _html.sources(r.sources, self._docs)

    def _doc_records(self, tenant: str) -> dict[str, dict[str, Any]]:
        """The tenant's ingestion records by document id (checked: only a tenant the user may access)."""
        return {d["doc_id"]: d for d in self.svc.jobs.documents(require_access(self.user, tenant))}

    async def _ask(self, event=None) -> None:
        from pydantic import ValidationError

        from ragbench.errors import RagbenchError
        from ragbench.schema import QueryRequest

        question = (self.question.value_input or self.question.value or "").strip()
        if not question or self.button.disabled:
            self.stage.object = '<span class="rb-stage rb-error">Type a question first.</span>'
            return
        self.button.disabled, self.progress.value = True, 1
        self.stage.object = '<span class="rb-stage">Retrieving…</span>'
        self.answer.object, self.sources.object = "", ""
        try:
            request = QueryRequest(question=question, tenant=self.tenant.value, k=5)
            self._docs = await self.svc.run_blocking(self._doc_records, request.tenant)
            steps = self.svc.ask_steps(self.user, request, preset=self.preset.value)
            while (step := await self.svc.run_blocking(next, steps, None)) is not None:
                self._show(step)
            self._render_history()
        except AccessDeniedError as exc:
            self.stage.object = f'<span class="rb-stage rb-error rb-denied">Access denied: {_html.esc(exc)}</span>'
        except (RagbenchError, ValidationError) as exc:
            self.stage.object = f'<span class="rb-stage rb-error">{_html.esc(exc)}</span>'
        finally:
            self.button.disabled = False


def create_app() -> Any:
    """The whole page for the current session (called once per browser session)."""
    import panel as pn

    from ragbench.dashboard.jobs import MAX_UPLOAD_BYTES

    pn.extension(
        "tabulator",
        raw_css=[_html.CSS],
        notifications=True,
        disconnect_notification=(
            f"Connection to the server lost. An upload far over the {MAX_UPLOAD_BYTES // 2**20} MiB limit ends the "
            "connection: reload the page and upload smaller files."
        ),
    )
    svc = get_service()
    user, refusal = current_user(svc)
    if user is None:
        return pn.Column(
            pn.pane.Markdown(f"# {PAGE_TITLE}"), pn.pane.HTML(f'<p class="rb-refused">{_html.esc(refusal)}</p>')
        )
    sign_out_on_revoke(svc)
    from ragbench.dashboard.views_admin import DocumentsView, MonitorView
    from ragbench.dashboard.views_experiments import ExperimentsView

    who = f"Signed in as **{user.name}** ({user.role})" + ("" if svc.open_mode else " · [Log out](/logout)")
    ask = AskView(svc, user)
    tabs = pn.Tabs(
        ("Ask", ask.panel()),
        ("Documents", DocumentsView(svc, user).panel()),
        (
            "Experiments",
            ExperimentsView(svc, user).panel()
            if user.is_admin
            else pn.pane.HTML(
                '<p class="rb-admin-only">MLflow runs mix every tenant\'s questions and answers: admins only.</p>'
            ),
        ),
        ("Monitor", MonitorView(svc, user).panel()),
        dynamic=False,
        sizing_mode="stretch_width",
    )
    # BootstrapTemplate: every resource is bundled with Panel (the Fast templates fetch Google's fonts)
    return pn.template.BootstrapTemplate(
        title=PAGE_TITLE,
        sidebar=[
            pn.pane.Markdown(who, css_classes=["rb-who"]),
            pn.pane.Markdown("#### Ask"),
            *ask.sidebar(),
        ],
        main=[tabs],
        sidebar_width=260,
        header_background="#2f6f9f",
    )
