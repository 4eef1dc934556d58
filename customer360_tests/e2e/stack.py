"""A real Dagster deployment on loopback for the end-to-end test.

PostgreSQL-backed instance (the deployment's own ``deploy/dagster.yaml``, pointed at a throw-away database),
``dagster-webserver`` + ``dagster-daemon`` as process groups (default signal handlers restored before exec, or
they ignore SIGTERM when started from a non-interactive shell), a GraphQL client, and a headless Chromium driven
through the DevTools protocol (wait until the page shows what we expect, then screenshot).
"""

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from customer360.settings import REPO_ROOT

VENV_BIN = Path(sys.executable).parent
PG_ROLE = "c360_e2e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 1.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; raise with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, KeyError, StopIteration) as exc:  # transient (server not up yet, ...)
            last_error = exc  # assertions and process deaths (RuntimeError) propagate: fail fast
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
    )


# ---- PostgreSQL ---------------------------------------------------------------------------------------------------


def start_services() -> None:
    """PostgreSQL (and Chromium) through the repository's script; idempotent."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "test_services.sh")], check=True, capture_output=True)


def _psql(sql: str) -> str:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else ["sudo", "-u", "postgres"]
    proc = subprocess.run(
        [*runner, "psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _pg_port() -> int:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3] == "online":
            return int(fields[2])
    raise RuntimeError("no online PostgreSQL cluster (scripts/test_services.sh starts one)")


@dataclass
class PostgresDatabase:
    host: str
    port: int
    name: str
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.name,
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
        }


@contextmanager
def postgres_database():
    """A new database (and a login role) for one test session; dropped afterwards."""
    password = secrets.token_hex(12)
    name = f"{PG_ROLE}_{os.getpid()}_{secrets.token_hex(3)}"  # role and database per session: runs may overlap
    _psql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    _psql(f"CREATE DATABASE {name} OWNER {name}")
    try:
        yield PostgresDatabase("127.0.0.1", _pg_port(), name, name, password)
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"DROP ROLE IF EXISTS {name}")


# ---- Dagster processes --------------------------------------------------------------------------------------------


def _restore_default_signals() -> None:  # runs in the child before exec
    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    # a blocked signal is inherited across exec as well (the mask of the thread that forked)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


@dataclass
class ManagedProcess:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is not None:
            return self.proc.returncode
        pgid = os.getpgid(self.proc.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            return self.proc.wait(10)
        finally:
            with contextlib.suppress(ProcessLookupError):  # children (code servers, run workers) of the group
                os.killpg(pgid, signal.SIGKILL)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def start_process(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> ManagedProcess:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(  # fixed argv
        args,
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_restore_default_signals,  # no threads touch the child before exec
    )
    log.close()
    return ManagedProcess(name, proc, log_path)


def write_dagster_home(home: Path) -> Path:
    """DAGSTER_HOME with the deployment's dagster.yaml (every setting from env: PostgreSQL, logs, artifacts)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    (home / "compute_logs").mkdir(exist_ok=True)
    (home / "artifacts").mkdir(exist_ok=True)
    return home


@dataclass
class DagsterStack:
    base_url: str
    env: dict[str, str]
    processes: list[ManagedProcess] = field(default_factory=list)

    # -- GraphQL --
    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback URL
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def server_info(self) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/server_info", timeout=5) as response:
            return json.loads(response.read())

    def alive(self) -> None:
        for p in self.processes:
            if p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited with {p.proc.returncode}:\n{p.log_tail()}")

    def stop(self) -> dict[str, int | None]:
        return {p.name: p.stop() for p in reversed(self.processes)}


def dagster_env(dagster_home: Path, extra: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("C360_", "DAGSTER_", "AWS_"))}
    return {**keep, "DAGSTER_HOME": str(dagster_home), "PYTHONUNBUFFERED": "1", **extra}


def start_webserver(stack: DagsterStack, port: int, log_dir: Path) -> ManagedProcess:
    proc = start_process(
        "dagster-webserver",
        [str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        stack.env,
        log_dir,
    )
    stack.processes.append(proc)
    return proc


def start_daemon(stack: DagsterStack, log_dir: Path) -> ManagedProcess:
    proc = start_process(
        "dagster-daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], stack.env, log_dir
    )
    stack.processes.append(proc)
    return proc


# ---- headless Chromium through the DevTools protocol --------------------------------------------------------------


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no chromium on PATH (scripts/test_services.sh installs it)")


class Browser:
    """Debian's chromium, headless, no background networking, driven over CDP with ``websockets``."""

    def __init__(self, profile_dir: Path, width: int = 1920, height: int = 1200):
        self.profile_dir = profile_dir
        self.width, self.height = width, height
        self._id = 0
        args = [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--metrics-recording-only",
            "--mute-audio",
            f"--user-data-dir={profile_dir}",
            f"--window-size={width},{height}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        port_file = profile_dir / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a profile reused from an earlier run names that run's (dead) port
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_restore_default_signals
        )
        wait_for(lambda: port_file.exists() and len(port_file.read_text().splitlines()) >= 2, 30, 0.2, "chromium")
        self.port = int(port_file.read_text().splitlines()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5).read())
        page = next(t for t in targets if t.get("type") == "page")
        from websockets.sync.client import connect

        self.ws = connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=10)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def call(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self._id += 1
        message_id = self._id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"CDP {method}: {message['error']}")
                return message.get("result", {})

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"}, timeout=60)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            try:
                os.killpg(os.getpgid(self.proc.pid), signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(os.getpgid(self.proc.pid), signal.SIGKILL)
