"""The Ask tab: a chat with one tenant's documents, on Panel's :class:`~panel.chat.ChatInterface`.

Questions and answers are :class:`~panel.chat.ChatMessage` objects. The interface's own callback
(an async generator) answers: it posts a :class:`Reply` at once and fills it while the service steps
through retrieval, the streamed tokens and the final answer. The conversation itself lives in the
service's store (per user and tenant, used for follow-ups); the chat shows it and is rebuilt from it
when the page opens or the tenant changes. Every text a user or a document supplies is rendered as
Markdown with raw HTML escaped. Panel is imported inside functions so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from ragbench.dashboard import _html
from ragbench.dashboard.auth import AccessDeniedError, User, require_access
from ragbench.dashboard.history import Turn
from ragbench.dashboard.service import AskEvent, DashboardService

__all__ = ["ASSISTANT", "QUESTION_PLACEHOLDER", "AskView", "Reply"]

log = logging.getLogger(__name__)

QUESTION_PLACEHOLDER = "Ask a question about this tenant's documents"
#: The name answers are posted under.
ASSISTANT = "ragbench"
#: Turns of the stored conversation shown when the page opens (the chat keeps what is asked after).
HISTORY_TURNS = 20
#: Message decorations that make no sense here: editing a sent question or reacting would not reach the store.
MESSAGE_OPTIONS: dict[str, Any] = {
    "show_edit_icon": False,
    "show_reaction_icons": False,
    "reaction_icons": {},
    "show_copy_icon": False,
}


def _svg(path: str) -> str:
    """A 16 px outline icon (Tabler's paths): named icons would load Tabler's font from a CDN."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24" fill="none" '
        f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{path}</svg>'
    )


#: ChatInterface's buttons with inline SVG icons (the page loads nothing from outside the dashboard).
BUTTON_ICONS = {
    "send": _svg(
        '<path d="M10 14l11 -11"/><path d="M21 3l-6.5 18a.55 .55 0 0 1 -1 0l-3.5 -7l-7 -3.5a.55 .55 0 0 1 0 -1l18 -6.5"/>'
    ),
    "stop": _svg('<path d="M5 5m0 2a2 2 0 0 1 2 -2h10a2 2 0 0 1 2 2v10a2 2 0 0 1 -2 2h-10a2 2 0 0 1 -2 -2z"/>'),
    "rerun": _svg(
        '<path d="M4 12v-3a3 3 0 0 1 3 -3h13m-3 -3l3 3l-3 3"/><path d="M20 12v3a3 3 0 0 1 -3 3h-13m3 3l-3 -3l3 -3"/>'
    ),
    "undo": _svg('<path d="M9 11l-4 4l4 4m-4 -4h11a4 4 0 0 0 0 -8h-1"/>'),
    "clear": _svg(
        '<path d="M4 7l16 0"/><path d="M10 11l0 6"/><path d="M14 11l0 6"/>'
        '<path d="M5 7l1 12a2 2 0 0 0 2 2h8a2 2 0 0 0 2 -2l1 -12"/><path d="M9 7v-3a1 1 0 0 1 1 -1h4a1 1 0 0 1 1 1v3"/>'
    ),
}
EDIT_ICONS = {
    "icon": _svg('<path d="M4 20h4l10.5 -10.5a2.828 2.828 0 1 0 -4 -4l-10.5 10.5v4"/>'),
    "active_icon": _svg('<path d="M18 6l-12 12"/><path d="M6 6l12 12"/>'),
}


@functools.cache
def chat_types() -> tuple[type, type]:
    """``(Message, Chat)``: Panel's ChatMessage and ChatInterface whose every icon is inline SVG.

    A ChatMessage always builds an edit icon (hidden here) named ``edit``; Panel draws named icons with
    Tabler's webfont from a CDN, which this dashboard must not load (it is served offline, to signed-in users).
    """
    import panel as pn

    class Message(pn.chat.ChatMessage):
        def __init__(self, object: Any = None, **params: Any) -> None:
            super().__init__(object, **params)
            self.edit_icon.param.update(**EDIT_ICONS)

    class Chat(pn.chat.ChatInterface):
        _message_type = Message  # the messages the interface builds itself (questions, placeholder)

    return Message, Chat


def question_pane(text: str) -> Any:
    """A question as Markdown with any raw HTML in it escaped (Panel's markdown-it with ``html`` off).

    The pane keeps the question's own text as its ``object``, which ChatInterface hands to the callback.
    """
    import panel as pn

    return pn.pane.Markdown(text, renderer_options={"html": False}, css_classes=["message", "rb-question"])


def question_message(text: str, user: str, **params: Any) -> Any:
    """A question in the chat, as the user who asked it."""
    message, _ = chat_types()
    return message(text, user=user, renderers=[question_pane], **MESSAGE_OPTIONS, **params)


class Reply:
    """One answer in the chat: the stage line (header), the answer, and the sources card (footer).

    The answer streams as plain escaped text (class ``rb-streaming``) and is rendered as Markdown, raw HTML
    escaped, once it is complete. A reply built from a stored turn (``live=False``) is complete at once.

    Example:
        >>> reply = Reply()  # doctest: +SKIP
        >>> reply.show(AskEvent("token", text="Margit"))  # doctest: +SKIP
        >>> reply.answer.object  # doctest: +SKIP
        '<div class="rb-answer rb-streaming">Margit</div>'
    """

    def __init__(self, docs: Mapping[str, dict[str, Any]] | None = None, *, live: bool = True, **params: Any) -> None:
        import panel as pn

        self.docs = dict(docs or {})
        self.stage = pn.pane.HTML('<span class="rb-stage">Retrieving…</span>', css_classes=["rb-stage-line"])
        self.answer = pn.pane.HTML("", css_classes=["message", "rb-answer-pane"])
        self.sources = pn.pane.HTML("", sizing_mode="stretch_width")
        self.card = pn.Card(
            self.sources,
            title="Sources",
            collapsed=False,
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["rb-sources-card"],
        )
        self.message = chat_types()[0](
            self.answer,
            user=ASSISTANT,
            header_objects=[self.stage],
            footer_objects=[self.card],
            css_classes=["chat-message", "rb-reply", "rb-live" if live else "rb-restored"],
            **MESSAGE_OPTIONS,
            **params,
        )

    @classmethod
    def from_turn(cls, turn: Turn, docs: Mapping[str, dict[str, Any]]) -> Reply:
        """The reply of a stored turn: its answer, marker and sources, with its preset and total time."""
        from ragbench.schema import Source

        p = turn.payload
        reply = cls(docs, live=False, timestamp=datetime.fromtimestamp(turn.ts) if turn.ts else datetime.now())
        error = f' <span class="rb-error">{_html.esc(p["error"])}</span>' if p.get("error") else ""
        reply.stage.object = (
            f'<span class="rb-stage rb-restored">{_html.esc(p.get("preset"))} · '
            f"total {p.get('timings', {}).get('total_ms', 0):.0f} ms</span>{error}"
        )
        reply._final(turn.answer, p.get("low_confidence"), None)
        reply._sources([Source(**s) for s in p.get("sources") or []])
        return reply

    def _final(self, answer: str, low_confidence: str | None, relevance: float | None) -> None:
        body = _html.markdown(answer) if answer else "<p><i>(no answer)</i></p>"
        self.answer.object = _html.low_confidence(low_confidence, relevance) + f'<div class="rb-answer">{body}</div>'

    def _sources(self, sources: list[Any]) -> None:
        self.sources.object = _html.sources(sources, self.docs)
        self.card.param.update(title=f"Sources ({len(sources)})", visible=True)

    def fail(self, message: str, *, denied: bool = False) -> None:
        """Show why the question was not answered (in the stage line; the answer stays empty)."""
        css = "rb-stage rb-error rb-denied" if denied else "rb-stage rb-error"
        self.stage.object = f'<span class="{css}">{_html.esc(message)}</span>'

    def show(self, event: AskEvent) -> None:
        """Show one step of answering: the sources once retrieved, each streamed token, then the final answer."""
        if event.stage == "retrieved":  # sources show while the answer is generated
            from ragbench.schema import Source

            self.stage.object = (
                f'<span class="rb-stage">Retrieved {len(event.hits)} chunks in {event.ms:.1f} ms · generating…</span>'
            )
            self._sources([Source.from_hit(h) for h in event.hits])
        elif event.stage == "token":  # partial text as plain text: half a Markdown mark would flicker
            self.answer.object = f'<div class="rb-answer rb-streaming">{_html.esc(event.text)}</div>'
        elif event.stage == "answered" and event.response is not None:
            r, t = event.response, event.response.timings
            error = f' <span class="rb-error">{_html.esc(r.error)}</span>' if r.error else ""
            standalone = ((r.trace or {}).get("notes") or {}).get("standalone")
            searched = (
                f' <span class="rb-standalone">Searched for: {_html.esc(standalone)}</span>'
                if standalone and standalone != r.question
                else ""
            )  # a follow-up made standalone
            # The answer and sources first, the "done" stage last: each change reaches the page as its own
            # message, in order, so a reader who waits for "done" finds the final answer already in place.
            self._final(r.answer, r.low_confidence, r.relevance)
            self._sources(list(r.sources))
            self.stage.object = (
                f'<span class="rb-stage rb-done">Done: retrieve {t.retrieve_ms:.1f} ms · '
                f"generate {t.generate_ms:.1f} ms · total {t.total_ms:.1f} ms</span>{searched}{error}"
            )


class AskView:
    """Pick a tenant and preset in the sidebar, then chat: each answer streams in with its stages and sources."""

    def __init__(self, svc: DashboardService, user: User) -> None:
        import panel as pn

        self.svc, self.user = svc, user
        tenants = svc.tenants_for(user)
        self.tenant = pn.widgets.Select(
            label="Tenant",
            options=tenants,
            value=tenants[0] if tenants else None,
            css_classes=["rb-ask-tenant"],
            sizing_mode="stretch_width",
        )
        self.preset = pn.widgets.Select(
            label="Pipeline preset",
            options=list(svc.presets),
            css_classes=["rb-ask-preset"],
            sizing_mode="stretch_width",
        )
        self.chat = chat_types()[1](
            callback=self._respond,
            user=user.name,
            callback_user=ASSISTANT,
            widgets=[pn.chat.ChatAreaInput(placeholder=QUESTION_PLACEHOLDER)],
            # Rerun and undo would drop answers from the page but not from the stored conversation that
            # follow-ups read; a stopped answer would leave the generator's thread running. Clear clears both.
            show_rerun=False,
            show_undo=False,
            show_stop=False,
            button_properties={
                **{name: {"icon": icon} for name, icon in BUTTON_ICONS.items()},
                "clear": {"icon": BUTTON_ICONS["clear"], "post_callback": self._cleared},
            },
            renderers=[question_pane],
            message_params=dict(MESSAGE_OPTIONS),
            sizing_mode="stretch_width",
            height=760,
            css_classes=["rb-chat"],
        )
        self._empty: Any = None  # the "no questions yet" note while the conversation is empty
        self.tenant.param.watch(lambda e: self.load_history(), "value")
        self.load_history()

    def sidebar(self) -> list[Any]:
        """The tenant and preset pickers (the page's sidebar)."""
        return [self.tenant, self.preset] if self.tenant.options else []

    def panel(self) -> Any:
        import panel as pn

        if not self.tenant.options:
            return pn.pane.Markdown(f"No tenants visible to **{self.user.name}**: ingest documents or ask an admin.")
        return self.chat

    def _empty_note(self) -> Any:
        import panel as pn

        self._empty = chat_types()[0](
            pn.pane.HTML(
                f'<p class="rb-history-empty">No questions yet: ask about the documents of '
                f"<b>{_html.esc(self.tenant.value)}</b>.</p>",
                css_classes=["message"],
            ),
            user=ASSISTANT,
            **MESSAGE_OPTIONS,
        )
        return self._empty

    def load_history(self) -> None:
        """Show the stored conversation of this user with the selected tenant (the last turns)."""
        if not self.tenant.value:
            return
        turns = self.svc.history.turns(self.user.name, self.tenant.value, limit=HISTORY_TURNS)
        docs = self._doc_records(self.tenant.value) if turns else {}
        messages: list[Any] = []
        for t in turns:
            when = datetime.fromtimestamp(t.ts) if t.ts else datetime.now()
            messages += [question_message(t.question, self.user.name, timestamp=when), Reply.from_turn(t, docs).message]
        self.chat.objects = messages or [self._empty_note()]

    def _cleared(self, instance: Any = None, event: Any = None) -> None:
        """After ChatInterface cleared the page: clear the stored conversation too (follow-ups start afresh)."""
        self.svc.history.clear(self.user.name, self.tenant.value)
        self.chat.objects = [self._empty_note()]

    def _doc_records(self, tenant: str) -> dict[str, dict[str, Any]]:
        """The tenant's ingestion records by document id (checked: only a tenant the user may access)."""
        return {d["doc_id"]: d for d in self.svc.jobs.documents(require_access(self.user, tenant))}

    async def _respond(self, contents: str, user: str, instance: Any) -> AsyncIterator[Any]:
        """ChatInterface's callback: post a reply, then fill it step by step (stages, tokens, answer)."""
        from pydantic import ValidationError

        from ragbench.errors import RagbenchError
        from ragbench.schema import QueryRequest

        if self._empty is not None and self._empty in instance.objects:
            instance.remove(self._empty)
        self._empty = None
        reply = Reply()
        yield reply.message
        try:
            request = QueryRequest(question=str(contents or "").strip(), tenant=self.tenant.value, k=5)
            reply.docs = await self.svc.run_blocking(self._doc_records, request.tenant)
            steps = self.svc.ask_steps(self.user, request, preset=self.preset.value)
            while (step := await self.svc.run_blocking(next, steps, None)) is not None:
                reply.show(step)
        except AccessDeniedError as exc:
            reply.fail(f"Access denied: {exc}", denied=True)
        except (RagbenchError, ValidationError) as exc:
            reply.fail(str(exc))
        except Exception as exc:  # an unexpected failure: said in the reply, details in the server log
            log.exception("answering %r for %s failed", contents, self.user.name)
            reply.fail(f"The question could not be answered ({type(exc).__name__}); the server log has the details.")
