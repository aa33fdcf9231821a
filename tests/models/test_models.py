"""The offline model catalogue: prepared folders are verified, idempotent, atomic; errors say how to fix."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from ragbench.errors import ModelError, UnknownNameError
from ragbench.models import CATALOG, default_models_dir, ensure_model, get_entry, prepare_model, verify_model
from ragbench.models.prepare import MANIFEST, source_file


def test_catalogue_names_and_close_matches():
    assert {"smollm2-135m-instruct", "gemma3-270m", "tiny-random-qwen2"} <= set(CATALOG)
    assert get_entry("smollm2-135m-instruct").chat and not get_entry("gemma3-270m").chat
    assert get_entry("tiny-random-qwen2").random_weights and not get_entry("smollm2-135m-instruct").random_weights
    with pytest.raises(UnknownNameError, match="Did you mean: 'smollm2-135m-instruct'"):
        get_entry("smollm2-135m")


def test_real_model_is_prepared_and_verifies_against_its_checksums():
    """`make setup` prepares SmolLM2 (or the first use does); every file matches its recorded SHA-256."""
    path = ensure_model(default_models_dir() / "smollm2-135m-instruct")
    assert verify_model(path, checksums=True) == []
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["source"]["sha256"] == get_entry("smollm2-135m-instruct").gguf_sha256
    assert manifest["random_weights"] is False and manifest["license"] == "Apache-2.0"
    config = json.loads((path / "config.json").read_text())
    assert config["hidden_size"] == 576 and config["num_attention_heads"] == 9 and config["num_key_value_heads"] == 3
    assert (path / "chat_template.jinja").is_file() and "model.safetensors" in manifest["files"]


def test_prepare_is_idempotent_detects_damage_and_repairs(tmp_path):
    path = prepare_model("tiny-random-qwen2", tmp_path, progress=False)
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["random_weights"] is True and verify_model(path) == []
    stamp = (path / MANIFEST).stat().st_mtime_ns
    assert prepare_model("tiny-random-qwen2", tmp_path, progress=False) == path
    assert (path / MANIFEST).stat().st_mtime_ns == stamp  # verified folder left as it was
    with (path / "model.safetensors").open("ab") as fh:  # a damaged (e.g. half-copied) weights file
        fh.write(b"\0")
    assert any("model.safetensors" in p for p in verify_model(path, checksums=False))
    repaired = ensure_model(path)  # a catalogue folder that does not verify is prepared again
    assert repaired == path and verify_model(path) == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tiny-random-qwen2-")]  # no temp leftovers


def test_missing_wheel_and_wrong_file_get_install_hints(tmp_path):
    missing = replace(
        get_entry("smollm2-135m-instruct"), package="ragbench_no_such_model_pkg", install="pip install X==1"
    )
    with pytest.raises(ModelError, match=r"not installed\. Install it with: pip install X==1"):
        source_file(missing, tmp_path)
    wrong = replace(get_entry("smollm2-135m-instruct"), gguf_sha256="0" * 64)
    with pytest.raises(ModelError, match="does not have the expected SHA-256"):
        source_file(wrong, tmp_path)


def test_a_folder_that_is_not_a_model_is_refused_with_what_it_holds(tmp_path):
    with pytest.raises(ModelError, match="ragbench models list"):
        ensure_model(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelError, match="no config.json.*notes.txt"):
        ensure_model(tmp_path)


def test_cli_lists_and_verifies(tmp_path):
    prepare_model("tiny-random-qwen2", tmp_path, progress=False)
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "ragbench.cli", "models", *a, "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    listed = run("list")
    assert listed.returncode == 0
    line = next(row for row in listed.stdout.splitlines() if "tiny-random-qwen2" in row)
    assert "prepared" in line and "RANDOM WEIGHTS" in line
    assert "not prepared" in next(row for row in listed.stdout.splitlines() if "gemma3-270m" in row)
    assert run("verify").stdout.strip() == "tiny-random-qwen2: ok"
    (tmp_path / "tiny-random-qwen2" / "config.json").write_text("{}")
    bad = run("verify")
    assert bad.returncode == 1 and "config.json" in bad.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", "models", "prepare", "smollm2-135m"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2 and "Did you mean" in unknown.stderr


def test_random_weight_models_are_never_silent(tmp_path):
    from ragbench.generators import TransformersGenerator
    from ragbench.generators._base import RandomWeightsWarning

    path = prepare_model("tiny-random-qwen2", tmp_path, progress=False)
    with pytest.warns(RandomWeightsWarning, match="RANDOM weights"):
        gen = TransformersGenerator(str(path))
    assert gen.random_weights is True
    real = TransformersGenerator(str(default_models_dir() / "smollm2-135m-instruct"))
    assert real.random_weights is False
