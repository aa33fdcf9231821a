"""A file input and its Ingest button that cannot ingest a file the server does not have yet.

The browser shows a newly chosen file's name at once, but reads the file and sends its bytes to the
server only after; a click on Ingest in between would ingest the previously chosen file. The
:class:`UploadGuard` (a Panel :class:`~panel.custom.JSComponent`) lays the two widgets out and, in the
browser, disables the button on the input's ``input`` event, the moment files are chosen. The button's
``disabled`` is a synced property, so the server knows it too; the server enables the button again when
the new files' bytes have arrived (see :meth:`UploadGuard.received`). This module imports Panel: import
it lazily.
"""

from __future__ import annotations

from typing import Any

from panel.custom import Child, JSComponent

__all__ = ["UploadGuard"]


class UploadGuard(JSComponent):
    """Lay out ``files`` (a :class:`~panel.widgets.FileInput`) and ``button``; keep the button disabled
    from the moment files are chosen in the browser until their bytes are on the server.

    Example:
        >>> files, ingest = pn.widgets.FileInput(multiple=True), pn.widgets.Button(label="Ingest")  # doctest: +SKIP
        >>> guard = UploadGuard(files=files, button=ingest)  # doctest: +SKIP
        >>> files.param.watch(guard.received, "value", onlychanged=False)  # doctest: +SKIP
    """

    files = Child(doc="The FileInput whose chosen files the button acts on.")
    button = Child(doc="The button that must wait for the chosen files' bytes.")

    _esm = """
    export function render({ model }) {
      const row = document.createElement("div")
      row.className = "rb-upload-guard"
      row.append(model.get_child("files"), model.get_child("button"))
      // `input` is composed: it reaches this row from inside the FileInput's shadow root, before the browser
      // has read the files (their bytes are sent only after that).
      row.addEventListener("input", (event) => {
        const target = event.composedPath()[0]
        if (!(target instanceof HTMLInputElement) || target.type !== "file") {
          return
        }
        model.button.disabled = true  // synced: the server sees it too and enables the button on arrival
        // forget the previous files here only, so the next read is always sent, even for the same bytes
        const none = model.files.multiple ? [] : ""
        model.files.setv({value: none, filename: none, mime_type: none}, {silent: true})
      })
      return row
    }
    """

    _stylesheets = [".rb-upload-guard { display: flex; gap: 10px; align-items: center; }"]

    def received(self, event: Any = None) -> None:
        """Call when the FileInput's value arrived on the server (watch it with ``onlychanged=False``)."""
        self.button.disabled = False
