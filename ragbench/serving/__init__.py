"""Model serving: a supervised local vLLM OpenAI-compatible server (``ragbench serve-llm``)."""

from ragbench.serving.vllm_server import VLLMServer, check_model_dir, free_port

__all__ = ["VLLMServer", "check_model_dir", "free_port"]
