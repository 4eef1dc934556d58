"""Shared helpers of the production-path tests: free ports, process control, the fakesnow server, PostgreSQL."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DBT_PROJECT = REPO / "dbt_project"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM the process group we started, then SIGKILL if it does not exit within ``timeout`` (a graceful gRPC
    shutdown took over 15 s once on a fully loaded 2-core CI machine; the e2e stack allows 30 s per process)."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return proc.returncode


@contextmanager
def fakesnow_server(log_path: Path) -> Iterator[int]:
    """`fakesnow -s` on loopback in its own process group (it can hang after an error: we kill it)."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, proc, timeout=60)
            yield port
        finally:
            stop(proc)


def snowflake_env(port: int | None) -> dict[str, str]:
    """Env of the Snowflake target pointing at the emulator (``port=None``: fakesnow.patch(), no server)."""
    env = {
        "SNOWFLAKE_ACCOUNT": "fakesnow",
        "SNOWFLAKE_USER": "fake",
        "SNOWFLAKE_PASSWORD": "snow",
        "SNOWFLAKE_DATABASE": "CUSTOMER360",
        "SNOWFLAKE_SCHEMA": "PUBLIC",
        "SNOWFLAKE_ROLE": "",
        "SNOWFLAKE_WAREHOUSE": "",
        "SNOWFLAKE_PRIVATE_KEY_PATH": "",
        "SNOWFLAKE_PRIVATE_KEY": "",
        "SNOWFLAKE_HOST": "",
        "SNOWFLAKE_PORT": "",
        "SNOWFLAKE_PROTOCOL": "",
    }
    if port is not None:
        env.update(SNOWFLAKE_HOST="127.0.0.1", SNOWFLAKE_PORT=str(port), SNOWFLAKE_PROTOCOL="http")
    return env


def postgres_admin(sql: str) -> None:
    """Run SQL as the postgres superuser through the local socket (scripts/test_services.sh started it)."""
    cmd = ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    elif shutil.which("sudo"):
        cmd = ["sudo", "-n", "-u", "postgres", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/")
