"""An executed notebook shows tqdm as widgets (ipywidgets installed) and the report as a styled table."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """01_quickstart executed with papermill: BM25 and extractive answers (not about models), progress bars on."""
    import papermill as pm

    tmp = tmp_path_factory.mktemp("widgets")
    previous = os.environ.get("RAGBENCH_HOME")
    os.environ["RAGBENCH_HOME"] = str(tmp / "home")  # the kernel inherits it
    try:
        pm.execute_notebook(
            str(NOTEBOOK),
            str(tmp / "quickstart.ipynb"),
            parameters={
                "overrides": ["retriever=bm25", "generator=extractive", "max_queries=4", "progress=true"],
                "output_dir": str(tmp / "out"),
            },
            progress_bar=False,
            cwd=str(tmp),
        )
    finally:
        if previous is None:
            os.environ.pop("RAGBENCH_HOME", None)
        else:
            os.environ["RAGBENCH_HOME"] = previous
    return nbformat.read(str(tmp / "quickstart.ipynb"), as_version=4)


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_tqdm_draws_widgets_and_no_iprogress_warning(quickstart):
    texts = "\n".join(str(o.get("text", "")) for o in _outputs(quickstart))
    assert "IProgress not found" not in texts and "TqdmWarning" not in texts
    widgets = [o for o in _outputs(quickstart) if WIDGET in o.get("data", {})]
    assert widgets, "no tqdm widget in the executed notebook"  # ingest and evaluate bars


def test_the_report_renders_as_a_styled_table(quickstart):
    [cell] = [c for c in quickstart.cells if c.cell_type == "code" and "ragbench.run(parts)" in c.source]
    [html] = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    assert 'class="rb-report"' in html and "<caption>Evaluation: means with 95% CIs</caption>" in html
    assert ">acme-robotics</th>" in html and ">ALL</th>" in html and "recall@10" in html
    assert "MLflow run id:" in "".join(str(o.get("text", "")) for o in cell.outputs)
