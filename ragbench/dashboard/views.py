"""The Panel app: one page with Ask, Documents, Experiments and Monitor tabs.

Views only lay out widgets and call :class:`~ragbench.dashboard.service.DashboardService`;
every tenant a view touches is checked there again on the server. Panel is imported
inside functions so importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

from ragbench.dashboard import _html
from ragbench.dashboard.auth import User
from ragbench.dashboard.gate import is_local_host_header
from ragbench.dashboard.service import DashboardService, get_service
from ragbench.dashboard.views_ask import AskView

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
