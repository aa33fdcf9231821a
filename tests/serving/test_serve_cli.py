"""``ragbench serve-llm``: registered through PLUGINS, fast help, clear error for a bad model folder."""

import subprocess
import sys

from ragbench.cli import main


def test_serve_llm_help_imports_no_vllm():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ragbench.cli import main\n"
            "try:\n    main(['serve-llm', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('vllm' in sys.modules, 'torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--max-restarts" in proc.stdout and proc.stdout.strip().endswith("False False")


def test_serve_llm_with_missing_model_folder_fails_clearly(capsys, tmp_path):
    assert main(["serve-llm", "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "ragbench models list" in err
