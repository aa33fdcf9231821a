"""A supervised vLLM OpenAI-compatible server running as a child process.

:class:`VLLMServer` starts ``python -m vllm.entrypoints.openai.api_server``, waits
until ``/health`` answers, watches the process from a background thread and
restarts it when it dies (at most ``max_restarts`` times, with exponential
backoff), and stops it cleanly (SIGTERM to its process group, SIGKILL after a
grace period). The port stays the same across restarts, so ``base_url`` stays valid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from ragbench._process import die_with_parent as _pdeathsig
from ragbench.errors import ConfigError, ModelError
from ragbench.models.prepare import ensure_model

# Environment that makes vLLM usable on a small CPU machine (see shared STACK.md).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class VLLMServer:
    """Run and supervise a local vLLM OpenAI-compatible server.

    Args:
        model: Local model folder (never a hub id: nothing is downloaded).
        served_model_name: Model name clients send (default: the folder name).
        host: Interface to bind; keep 127.0.0.1 unless you mean to expose it.
        port: TCP port (default: a free one, kept across restarts).
        dtype: Weights dtype (``float32`` on CPU).
        max_model_len: Context length in tokens.
        enforce_eager: Skip torch.compile / graphs (its cache does not reload on CPU).
        extra_args: More command-line arguments for the server.
        env: Extra environment variables (``VLLM_CPU_KVCACHE_SPACE=1`` etc. are set by default).
        startup_timeout: Seconds to wait for ``/health`` after each (re)start.
        max_restarts: Restarts allowed after unexpected deaths; then the server is ``failed``.
        backoff_s: First restart delay; doubles each restart up to ``backoff_max_s``.
        backoff_max_s: Longest restart delay.
        watch: Supervise (restart on death) from a background thread.
        log_path: File for the server's output (default: a temporary file).
        die_with_parent: The server gets SIGTERM when this process dies, even by SIGKILL (Linux; see
            :func:`ragbench._process.die_with_parent`: start it from a long-lived thread). Off by default.

    Example:
        >>> with VLLMServer("/models/tiny-qwen2", served_model_name="tiny") as server:  # doctest: +SKIP
        ...     client = openai.OpenAI(base_url=server.base_url, api_key="x")
    """

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        served_model_name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        dtype: str = "float32",
        max_model_len: int = 512,
        enforce_eager: bool = True,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 240.0,
        max_restarts: int = 3,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
        watch: bool = True,
        log_path: str | os.PathLike | None = None,
        die_with_parent: bool = False,
    ) -> None:
        if max_restarts < 0 or backoff_s < 0 or startup_timeout <= 0:
            raise ConfigError(
                f"max_restarts={max_restarts}, backoff_s={backoff_s}, startup_timeout={startup_timeout}: "
                "restarts and backoff must be >= 0 and the timeout > 0."
            )
        self.model = str(model)
        self.served_model_name = served_model_name or Path(self.model).name or "model"
        self.host = host
        self.port = port
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.enforce_eager = enforce_eager
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.watch = watch
        self.log_path = Path(log_path) if log_path else None
        self.die_with_parent = die_with_parent
        self.restarts = 0
        self.state = "stopped"  # stopped | starting | ready | restarting | failed
        self.events: list[tuple[float, str]] = []
        self._proc: subprocess.Popen | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    # ------------------------------------------------------------------ properties
    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:8000/v1``."""
        if self.port is None:
            raise ModelError("The server has no port yet: call start() first (or pass port=...).")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/v1")]

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def command(self) -> list[str]:
        """The server's command line."""
        cmd = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--dtype",
            self.dtype,
            "--max-model-len",
            str(self.max_model_len),
            "--served-model-name",
            self.served_model_name,
        ]
        if self.enforce_eager:
            cmd.append("--enforce-eager")
        return cmd + self.extra_args

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> VLLMServer:
        """Start the server and wait until it is healthy; returns ``self``. A no-op when running."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self
            self.model = str(ensure_model(self.model))
            self.port = self.port or free_port(self.host)
            if self.log_path is None:
                fd, name = tempfile.mkstemp(prefix="ragbench-vllm-", suffix=".log")
                os.close(fd)
                self.log_path = Path(name)
            self._stopping.clear()
            self._launch("starting")
        if self.watch and (self._monitor is None or not self._monitor.is_alive()):
            self._monitor = threading.Thread(target=self._supervise, name="vllm-supervisor", daemon=True)
            self._monitor.start()
        return self

    def _launch(self, state: str) -> None:
        self.state = state
        env = {**os.environ, **CPU_ENV, **self.env}
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_pdeathsig() if self.die_with_parent else None,
            )
        self._event(f"{state}: pid {self._proc.pid} on port {self.port}")
        try:
            self._wait_healthy(self._proc)
        except ModelError:
            self._terminate(self._proc)
            self.state = "failed"
            raise
        self.state = "ready"
        self._event("ready")

    def _wait_healthy(self, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ModelError(
                    f"vLLM server for {self.model} exited with code {proc.returncode} while starting. "
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if self.healthy(timeout=1.0):
                return
            if self._stopping.wait(0.5):
                raise ModelError("The server was stopped while it was starting.")
        raise ModelError(
            f"vLLM server for {self.model} was not healthy after {self.startup_timeout:.0f} s "
            f"(raise startup_timeout on a slow machine). Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def healthy(self, *, timeout: float = 2.0) -> bool:
        """True when ``GET /health`` answers 200."""
        if self.port is None:
            return False
        try:
            with urllib.request.urlopen(f"{self.root_url}/health", timeout=timeout) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            proc = self._proc
            if proc is None or proc.poll() is None:
                continue
            with self._lock:
                if self._stopping.is_set() or proc is not self._proc:
                    continue
                self._event(f"died with code {proc.returncode}")
                self._terminate(proc)  # reap children left in its process group
                if self.restarts >= self.max_restarts:
                    self.state = "failed"
                    self._event(f"gave up after {self.restarts} restarts")
                    return
                delay = min(self.backoff_max_s, self.backoff_s * 2**self.restarts)
                self.restarts += 1
                self.state = "restarting"
                if self._stopping.wait(delay):
                    return
                try:
                    self._launch("restarting")
                except ModelError as exc:
                    self._event(f"restart failed: {exc}")
                    if self.restarts >= self.max_restarts:
                        return

    def stop(self, *, grace_s: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace_s``) and its supervisor."""
        self._stopping.set()
        with self._lock:
            if self._proc is not None:
                self._terminate(self._proc, grace_s=grace_s)
                self._event("stopped")
            self.state = "stopped"
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)

    @staticmethod
    def _terminate(proc: subprocess.Popen, *, grace_s: float = 20.0) -> None:
        """SIGTERM the server (it stops its engine), then SIGKILL whatever is left in its session."""
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own session: leftovers only
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
            pass

    def restart(self) -> None:
        """Stop and start again now (not counted in ``restarts``)."""
        with self._lock:
            if self._proc is not None:
                self._terminate(self._proc)
            self._launch("restarting")

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ status
    def _event(self, text: str) -> None:
        self.events.append((time.time(), text))

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        data = self.log_path.read_bytes()[-20000:].decode("utf-8", errors="replace")
        return "\n".join(data.splitlines()[-lines:])

    def status(self) -> dict:
        """A JSON-friendly status: state, pid, restarts, base URL and whether ``/health`` answers."""
        return {
            "name": self.served_model_name,
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "max_restarts": self.max_restarts,
            "base_url": self.base_url if self.port else None,
            "healthy": self.healthy(timeout=1.0),
        }

    def __repr__(self) -> str:
        return f"VLLMServer(model={self.model!r}, port={self.port}, state={self.state!r})"
