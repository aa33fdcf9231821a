"""Committed notebooks are clean (no outputs), thin (parameters + library calls) and all run in CI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from ragbench.paths import project_root
from ragbench.notebooks.pipeline import declared_parameters
from ragbench.notebooks.spec import load_pipeline

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))
# What a parameters cell may hold: config name, overrides, tenant/dataset (and run selections), output dir.
ALLOWED_PARAMETERS = {
    "config_name", "overrides", "variant_overrides", "dataset", "tenant", "run_a", "run_b", "output_dir", "metric", "train",
    "heldout", "baseline",
}
ABSOLUTE_PATH = re.compile(r"""["'](/(?:home|tmp|work|usr|Users|root|mnt|data)\b|~/|[A-Za-z]:\\)""")


def test_the_seven_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    expected = ["01_quickstart", "02_retrieval_lab", "03_generation_lab", "04_compare_runs", "05_dspy_optimize", "06_multitenant",
                "07_methods"]
    assert [n for n in expected if n in names] == [n for n in names if n in expected]
    assert {"01_quickstart", "02_retrieval_lab", "06_multitenant"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; run `nbstripout {path}`"
    assert "papermill" not in nb.metadata, f"{path.name} is an executed papermill copy; commit the source notebook"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_plain_settings(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    names = declared_parameters(path)
    assert set(names) <= ALLOWED_PARAMETERS, f"{path.name}: parameters {set(names) - ALLOWED_PARAMETERS} do not belong there"
    assert {"config_name", "overrides", "output_dir"} <= set(names)
    for node in ast.parse(tagged[0].source).body:  # literals only: no computation in the parameters cell
        assert isinstance(node, ast.Assign), f"{path.name}: only assignments in the parameters cell"
        ast.literal_eval(node.value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_body_is_thin_and_portable(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, f"{path.name} defines {defs}: helpers belong in the library"
        loops = [n for n in tree.body if isinstance(n, (ast.For, ast.While))]
        assert not loops, f"{path.name} has a top-level loop: put that logic in the library"
        assert not ABSOLUTE_PATH.search(cell.source), f"{path.name} has an absolute path: {cell.source[:120]}"


def test_ci_pipeline_runs_every_notebook():
    stages = {s.notebook.resolve() for s in load_pipeline("smoke").stages}
    missing = [p.name for p in NOTEBOOKS if p.resolve() not in stages]
    assert not missing, f"configs/pipeline/smoke.yaml does not run {missing}, so CI would not execute them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_import_the_front_door(path: Path):
    """Notebooks meet ragbench through ``import ragbench`` alone (compose, build, ingest, run, compare, views)."""
    nb = nbformat.read(str(path), as_version=4)
    imports = [n for c in nb.cells if c.cell_type == "code" for n in ast.walk(ast.parse(c.source))
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name if isinstance(n, ast.Import) else f"from {n.module}" for n in imports for a in n.names]
    assert names == ["ragbench"], f"{path.name} imports {names}; use `import ragbench` and its front door"
