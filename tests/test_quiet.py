"""Quiet by default (ragbench._quiet): what reaches the terminal and what goes to the log file."""

import logging
import os
import sys
import warnings

import pytest

from ragbench import _quiet


@pytest.fixture
def restore(monkeypatch):
    """quiet() changes process-wide state: the environment, root logging, warnings.showwarning."""
    root = logging.getLogger()
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(_quiet, "_mode", None)
    torch_log = logging.getLogger("torch")
    monkeypatch.setattr(torch_log, "handlers", list(torch_log.handlers))
    monkeypatch.setattr(torch_log, "propagate", torch_log.propagate)


def test_quiet_tells_vllm_and_libtorch_to_leave_the_terminal(restore, tmp_path):
    for name in ("VLLM_CONFIGURE_LOGGING", "TORCH_CPP_LOG_LEVEL"):
        os.environ.pop(name, None)
    assert _quiet.quiet(tmp_path) == tmp_path / "logs" / "ragbench.log"
    assert os.environ["VLLM_CONFIGURE_LOGGING"] == "0" and os.environ["TORCH_CPP_LOG_LEVEL"] == "ERROR"
    assert _quiet.engine_settings() == {"use_tqdm_on_load": False}  # stats stay on (TTFT); their lines are logged


def test_verbose_and_a_notebook_keep_the_engines_own_output(restore, tmp_path):
    assert _quiet.engine_settings() == {}  # no CLI: vLLM's own defaults
    _quiet.quiet(tmp_path, verbose=True)
    assert _quiet.engine_settings() == {}
    assert not (tmp_path / "logs").exists()


def test_other_libraries_warnings_go_to_the_log_file_and_ragbench_warnings_to_stderr(restore, tmp_path, capsys):
    from ragbench.generators._base import RandomWeightsWarning

    def printer(message, category, filename, lineno, file=None, line=None):  # Python's own, which pytest replaces
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = printer
    log = _quiet.quiet(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn_explicit("`reduce_op` is deprecated", FutureWarning, "torch/distributed.py", 7)
        warnings.warn_explicit("RANDOM weights", RandomWeightsWarning, "ragbench/generators/_base.py", 81)
    err = capsys.readouterr().err
    assert "RANDOM weights" in err and "reduce_op" not in err
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log.read_text()
    assert "py.warnings: torch/distributed.py:7: FutureWarning: `reduce_op` is deprecated" in text
    assert "RANDOM weights" not in text
