"""Notebooks as papermill pipelines: ``configs/pipeline/*.yaml`` (:mod:`ragbench.notebooks.spec`) and the
runner behind ``ragbench pipeline run NAME`` (:mod:`ragbench.notebooks.pipeline`).

What notebooks themselves call lives behind the front door (``import ragbench``: ``run``,
``run_variants``, ``compare``, ``views``, ``plotting``). Nothing heavy is imported here.
"""
