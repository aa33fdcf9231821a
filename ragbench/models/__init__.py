"""Language models provisioned offline: a catalogue by name, prepared into verified local folders.

    ragbench models list                       what the catalogue holds and what is prepared
    ragbench models prepare smollm2-135m-instruct
    ragbench models verify                     re-check every prepared folder's checksums

Generators and the judge take ``ensure_model(...)`` folders, so a catalogue model named in a
config is prepared on first use (with a message) and a random-weight test model is only ever
used when a config names it.
"""

from ragbench.models.catalog import CATALOG, ModelEntry, get_entry
from ragbench.models.prepare import (
    MANIFEST,
    check_model_dir,
    default_models_dir,
    ensure_model,
    model_info,
    prepare_model,
    verify_model,
)

__all__ = [
    "CATALOG",
    "MANIFEST",
    "ModelEntry",
    "check_model_dir",
    "default_models_dir",
    "ensure_model",
    "get_entry",
    "model_info",
    "prepare_model",
    "verify_model",
]
