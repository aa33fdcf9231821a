"""Notebook support: helpers the notebooks in ``notebooks/`` call, and papermill pipelines of them.

- :mod:`ragbench.notebooks.lab`: run and compare configurations, per-question and per-tenant tables.
- :mod:`ragbench.notebooks.runs`: pull runs from MLflow and test differences between two runs.
- :mod:`ragbench.notebooks.spec` / :mod:`ragbench.notebooks.pipeline`: ``configs/pipeline/*.yaml``
  and the runner behind ``ragbench pipeline run NAME``.

Nothing heavy is imported here; each helper imports what it needs.
"""
