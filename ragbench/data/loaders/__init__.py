"""Dataset loaders for original formats; browse them by name with :mod:`ragbench.data.registry`."""

from ragbench.data.loaders.conversations import load_conversations
from ragbench.data.loaders.flat import load_exams, load_flashrag, load_hf_folder
from ragbench.data.loaders.multihop import load_hotpotqa, load_musique

__all__ = ["load_conversations", "load_exams", "load_flashrag", "load_hf_folder", "load_hotpotqa", "load_musique"]
