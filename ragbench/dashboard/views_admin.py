"""Documents and Monitor tabs of the dashboard (layout only; logic in the service).

The Experiments tab is :mod:`ragbench.dashboard.views_experiments`."""

from __future__ import annotations

import logging

from ragbench.dashboard import _html
from ragbench.dashboard._widgets import checkbox_table, frame
from ragbench.dashboard.auth import AccessDeniedError, User, require_access
from ragbench.dashboard.jobs import MAX_UPLOAD_BYTES, check_upload_size
from ragbench.dashboard.service import DashboardService

DOC_COLUMNS = ["key", "status", "chunks", "language", "error"]
#: Columns of the tenant's document list (a Tabulator: sort, filter, pick rows to delete).
LIST_COLUMNS = ["key", "title", "status", "chunks", "language", "size", "content_type"]
POLL_MS = 400
log = logging.getLogger(__name__)


class DocumentsView:
    """Upload files (or, for admins, point at a server folder) and watch the ingestion job."""

    def __init__(self, svc: DashboardService, user: User) -> None:
        import panel as pn

        self.svc, self.user = svc, user
        tenants = sorted({*svc.tenants_for(user), *user.tenants})  # a user's own tenants may not exist yet
        self.tenant = pn.widgets.Select(
            name="Tenant",
            options=tenants,
            value=tenants[0] if tenants else None,
            css_classes=["rb-docs-tenant"],
            width=220,
        )
        self.files = pn.widgets.FileInput(multiple=True, accept=".txt,.md,.markdown,.html,.htm,.pdf,.docx,.jsonl")
        self.limit = pn.pane.HTML(
            f'<span class="rb-upload-limit">Up to {MAX_UPLOAD_BYTES // 2**20} MiB per upload '
            "(txt, md, html, pdf, docx, jsonl).</span>"
        )
        self.upload = pn.widgets.Button(label="Ingest uploaded files", button_type="primary")
        from ragbench.dashboard.upload_guard import UploadGuard

        self.guard = UploadGuard(files=self.files, button=self.upload)  # no Ingest before the bytes arrived
        self.folder = pn.widgets.TextInput(label="Server folder (admins)", placeholder="/path/to/folder", width=320)
        self.ingest_folder = pn.widgets.Button(label="Ingest folder")
        self.progress = pn.indicators.Progress(value=0, max=100, width=300, bar_color="success")
        self.status = pn.pane.HTML('<span class="rb-job-status">No job yet.</span>', sizing_mode="stretch_width")
        self.docs = pn.pane.HTML("", sizing_mode="stretch_width")
        self.listing = checkbox_table(LIST_COLUMNS, "rb-doc-list")
        self.delete = pn.widgets.Button(label="Delete selected documents", button_type="danger")
        self.list_status = pn.pane.HTML("", sizing_mode="stretch_width")
        self.delete.on_click(self._delete)
        self.tenant.param.watch(lambda e: self._list(), "value")
        self._list()
        self.upload.on_click(self._upload)
        self.files.param.watch(self._arrived, "value", onlychanged=False)  # also the same bytes again
        self.ingest_folder.on_click(self._folder)
        self._ticket: str | None = None
        self._poller = None

    def panel(self):
        import panel as pn

        folder = [pn.Row(self.folder, self.ingest_folder)] if self.user.is_admin else []
        return pn.Column(
            pn.Row(self.tenant, self.guard),
            self.limit,
            *folder,
            pn.Row(self.progress, self.status),
            self.docs,
            pn.pane.Markdown(
                "### Documents of this tenant\nUploading a file again replaces the document of that file name."
            ),
            self.listing,
            pn.Row(self.delete, self.list_status),
            sizing_mode="stretch_width",
        )

    def _list(self) -> None:
        """Show the selected tenant's documents (only tenants the user may access)."""
        tenant = self.tenant.value
        try:
            rows = self.svc.jobs.documents(require_access(self.user, tenant)) if tenant else []
        except AccessDeniedError as exc:
            rows, self.list_status.object = [], f'<span class="rb-error">{_html.esc(exc)}</span>'
        self.listing.value = frame(rows, LIST_COLUMNS)
        self.listing.selection = []

    async def _delete(self, event=None) -> None:
        from ragbench.errors import RagbenchError

        keys = [str(k) for k in self.listing.value.iloc[self.listing.selection]["key"]]
        try:
            tenant = require_access(self.user, self.tenant.value or "")
            done = await self.svc.run_blocking(self.svc.jobs.delete_documents, tenant, keys)
        except (AccessDeniedError, RagbenchError) as exc:
            self.list_status.object = f'<span class="rb-delete-status rb-error">{_html.esc(exc)}</span>'
            return
        self.list_status.object = (
            f'<span class="rb-delete-status">Deleted {done["documents"]} document(s) and their '
            f"{done['chunks']} chunk(s): {_html.esc(', '.join(keys))}</span>"
        )
        self._list()

    def _error(self, message: object) -> None:
        self.status.object = f'<span class="rb-job-status rb-error">{_html.esc(message)}</span>'

    def _start(self, submit) -> None:
        from ragbench.errors import RagbenchError

        try:
            tenant = require_access(self.user, self.tenant.value or "")
            sub = submit(tenant)
        except (AccessDeniedError, RagbenchError) as exc:
            return self._error(exc)
        except Exception as exc:
            return self._error(f"The upload could not be queued: {type(exc).__name__}: {exc}")
        self._ticket = sub.ticket
        self.progress.value = 0
        self.status.object = f'<span class="rb-job-status">Queued ({_html.esc(sub.source)})…</span>'
        self.docs.object = ""
        if self._poller is None or not self._poller.running:
            import panel as pn

            self._poller = pn.state.add_periodic_callback(self._poll, period=POLL_MS)

    def _chosen(self) -> list[tuple[str, bytes]]:
        names, data = self.files.filename or [], self.files.value or []
        names, data = ([names], [data]) if isinstance(names, str) else (names, data)
        return list(zip(names, data))

    def _arrived(self, event=None) -> None:
        """The chosen files' bytes are on the server: check their size, then let Ingest act on them."""
        self._check_size()
        self.guard.received()

    def _check_size(self, event=None) -> None:
        """Refuse an oversized upload as soon as it arrives (and drop its bytes)."""
        from ragbench.errors import DatasetError

        try:
            check_upload_size(self._chosen())
        except DatasetError as exc:
            self.files.value, self.files.filename = None, None
            self.files.clear()
            self._error(exc)

    def _upload(self, event=None) -> None:
        if self.upload.disabled:  # the browser disables it while the chosen files are on their way
            return self._error("The chosen files have not reached the server yet: click Ingest once it is enabled.")
        files = self._chosen()
        self._start(lambda t: self.svc.jobs.submit_files(t, files, user=self.user.name))

    def _folder(self, event=None) -> None:
        if not self.user.is_admin:  # the button is only shown to admins; check again here
            self.status.object = '<span class="rb-job-status rb-error">Only admins may ingest server folders.</span>'
            return
        self._start(lambda t: self.svc.jobs.submit_folder(t, self.folder.value, user=self.user.name))

    async def _poll(self) -> None:
        ticket = self._ticket
        if not ticket:
            return
        try:  # state, then job record (see JobManager.progress); None: not a submission of this server
            progress = await self.svc.run_blocking(self.svc.jobs.progress, ticket)
        except Exception as exc:  # e.g. the job's tables read mid-commit: say so and ask again next time
            log.warning("reading job %s failed: %s: %s", ticket, type(exc).__name__, exc)
            self.status.object = (
                f'<span class="rb-job-status" data-ticket="{_html.esc(ticket)}">The job\'s state could not '
                f"be read ({_html.esc(type(exc).__name__)}: {_html.esc(exc)}); trying again…</span>"
            )
            return
        if progress is None or ticket != self._ticket:  # unknown, or another upload started meanwhile
            return
        state, error, job = progress
        done = state in ("finished", "error")
        if job is None:  # queued, or failed before its job record existed
            css = "rb-job-status rb-error" if state == "error" else "rb-job-status"
            self.status.object = f'<span class="{css}">{_html.esc(error or f"{state}…")}</span>'
        else:
            self._render(job, done=done)
        if done and (job is None or job.finished):
            self._poller.stop()
            self._list()
            sub = self.svc.jobs.submission(ticket)
            if sub is not None and sub.replaced:
                self.list_status.object = (
                    f'<span class="rb-replaced">Replaced by the upload: {_html.esc(", ".join(sub.replaced))}</span>'
                )

    def _render(self, job, *, done: bool) -> None:
        # The per-document table first: the browser applies updates in order, so once the status line
        # says finished, the table already lists every document (read in this order by users and tests).
        rows = [d.model_dump() for d in job.documents]
        self.docs.object = _html.table(rows, DOC_COLUMNS, css="rb-docs", empty="No documents yet.")
        self.progress.value = int(round(job.progress * 100))
        css = "rb-job-status" + (" rb-job-finished" if job.finished and done else "")
        self.status.object = (
            f'<span class="{css}" data-status="{_html.esc(job.status)}" data-ticket="{_html.esc(self._ticket)}">'
            f"Job {_html.esc(job.job_id)}: "
            f'<b class="rb-job-state">{_html.esc(job.status)}</b> · {job.done}/{job.total} documents · '
            f"{job.completed} completed, {job.skipped} skipped, {job.failed} failed · {job.chunks_created} chunks"
            f"{' · ' + _html.esc(job.error) if job.error else ''}</span>"
        )


class MonitorView:
    """Health of LanceDB, the LLM endpoint and MLflow; tenants; running and failed jobs; GPU."""

    def __init__(self, svc: DashboardService, user: User) -> None:
        import panel as pn

        self.svc, self.user = svc, user
        self.refresh = pn.widgets.Button(label="Refresh")
        self.health = pn.pane.HTML("", sizing_mode="stretch_width")
        self.tenants = pn.pane.HTML("", sizing_mode="stretch_width")
        self.jobs = pn.pane.HTML("", sizing_mode="stretch_width")
        self.refresh.on_click(self._refresh)
        pn.state.onload(self._refresh)

    def panel(self):
        import panel as pn

        return pn.Column(
            self.refresh,
            pn.pane.Markdown("### Services"),
            self.health,
            pn.pane.Markdown("### Tenants"),
            self.tenants,
            pn.pane.Markdown("### Running jobs and jobs with failures"),
            self.jobs,
            sizing_mode="stretch_width",
        )

    async def _refresh(self, event=None) -> None:
        from ragbench.dashboard.health import probe_all, tenant_counts

        visible = self.svc.tenants_for(self.user)
        health, counts, jobs = await self.svc.run_blocking(
            lambda: (
                probe_all(self.svc.parts, generators=self.svc.generators()),
                tenant_counts(self.svc.parts.store, visible),
                self.svc.jobs.list(visible),
            )
        )
        rows = [h.to_dict() for h in health]
        if not self.user.is_admin:  # details name server paths, endpoints and every tenant's totals
            rows = [{**r, "detail": "details are shown to admins"} for r in rows]
        self.health.object = _html.table(rows, ["service", "state", "detail", "ms"], css="rb-health")
        self.tenants.object = _html.table(
            counts, ["tenant", "documents", "chunks"], css="rb-tenants", empty="No tenants."
        )
        shown = [j.model_dump() for j in jobs if j.status in ("running", "failed", "interrupted") or j.failed]
        self.jobs.object = _html.table(
            shown,
            ["job_id", "tenant", "status", "done", "total", "failed", "chunks_created", "error"],
            css="rb-jobs",
            empty="No running or failed jobs.",
        )
