"""Model serving: a supervised local vLLM OpenAI-compatible server (``ragbench serve-llm``)."""

from ragbench.serving.vllm_server import VLLMServer, free_port

__all__ = ["VLLMServer", "free_port"]
