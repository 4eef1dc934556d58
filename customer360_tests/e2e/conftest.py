"""The end-to-end stack: PostgreSQL-backed Dagster instance, moto S3, webserver + daemon, webhook receiver.

Data (tiny, real generator): a window of ``HISTORY_DAYS`` days ending today at scale ``SCALE``. Everything before
today is bulk-loaded into the warehouse before the stack starts (the state of a platform that has been running; the
ML time split needs months of history). Today's files (and this week's products file) wait in a local "outbox" the
test uploads to the S3 landing zone; the last ``BACKFILL_DAYS`` days are uploaded again for the backfill.
"""

import os
import shutil
import signal
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from customer360.settings import REPO_ROOT
from customer360_tests.automation.webhook_receiver import WebhookReceiver
from customer360_tests.e2e import stack as st

SCALE = 0.01
HISTORY_DAYS = 240  # the churn/LTV time split looks 180 days back
BACKFILL_DAYS = 7
STALE_SOURCE = "products"  # weekly: loaded once by the upload, not by the daily backfill; SLA shortened (test-only)
STALE_WARN_SECONDS = 60  # Dagster's minimum window
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"


@dataclass
class E2EContext:
    stack: st.DagsterStack
    receiver: WebhookReceiver
    s3_endpoint: str
    bucket: str
    outbox: Path  # generated landing files not yet uploaded
    today: date
    dagster_home: Path
    duckdb_path: Path
    artifacts: Path
    timings: dict


def _generate(work: Path, today: date) -> Path:
    import subprocess
    import sys

    landing = work / "generated"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "data_generation",
            "--scale",
            str(SCALE),
            "--days",
            str(HISTORY_DAYS),
            "--end-date",
            today.isoformat(),
            "--landing",
            str(landing),
            "--truth",
            str(work / "truth"),
            "--seed",
            "11",
            "--no-progress",
        ],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
    )
    return landing


def _split_history(landing: Path, outbox: Path, today: date) -> None:
    """Prepare the outbox: today's files and the current week's products file are moved there (they arrive during
    the test); the files of the ``BACKFILL_DAYS`` days before today are copied there (the warehouse already holds
    them, the backfill reloads them from S3 — no gap, so foreign keys between feeds stay satisfied)."""
    monday = today - timedelta(days=today.weekday())
    first_backfill_day = today - timedelta(days=BACKFILL_DAYS)
    for day_dir in sorted(landing.glob("*/load_date=*")):
        day = date.fromisoformat(day_dir.name.split("=", 1)[1])
        source = day_dir.parent.name
        target = outbox / source / day_dir.name
        arrives_now = day == today if source != "products" else day == monday
        if arrives_now:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(day_dir), target)
        elif source != "products" and first_backfill_day <= day < today:
            shutil.copytree(day_dir, target)


# module scope: its environment (C360_*, DAGSTER_HOME, AWS_*) is restored before any other test module runs
@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    import sys

    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.ml_pipeline import fast_ingest
    from customer360_tests.resources.moto_s3 import moto_server, new_bucket

    def _interrupt(signum, frame):  # SIGTERM (CI timeout): unwind so the teardown below stops every process
        raise KeyboardInterrupt(f"signal {signum}")

    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    timings: dict[str, float] = {}
    t0 = datetime.now(UTC)
    today = t0.date()
    work = tmp_path_factory.mktemp("e2e")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    st.start_services()

    landing = _generate(work, today)
    outbox = work / "outbox"
    _split_history(landing, outbox, today)
    duckdb_path = work / "warehouse.duckdb"
    fast_ingest(landing, duckdb_path)  # the history the platform already holds
    timings["data_seconds"] = (datetime.now(UTC) - t0).total_seconds()

    with st.postgres_database() as db, moto_server() as s3_endpoint, WebhookReceiver() as receiver:
        bucket = new_bucket(s3_endpoint)
        home = st.write_dagster_home(work / "dagster_home")
        env = st.dagster_env(
            home,
            {
                **db.env(),
                "DAGSTER_COMPUTE_LOG_DIR": str(home / "compute_logs"),
                "DAGSTER_ARTIFACT_DIR": str(home / "artifacts"),
                "C360_LANDING_URL": f"s3://{bucket}/landing",
                "C360_QUARANTINE_URL": f"s3://{bucket}/quarantine",
                "C360_DUCKDB_PATH": str(duckdb_path),
                "C360_ARTIFACTS_URL": str(work / "ml_artifacts"),
                "C360_PARTITIONS_START": (today - timedelta(days=HISTORY_DAYS - 1)).isoformat(),
                "C360_ALERT_WEBHOOK_URL": receiver.url,
                "C360_TEST_SLA_OVERRIDES": f"{STALE_SOURCE}:{STALE_WARN_SECONDS}:86400",
                "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5",
                # dbt runs of an asset subset: only tests whose parents are all selected (with dbt's default
                # "eager", the first partial build runs relationship tests against models not built yet)
                "DBT_INDIRECT_SELECTION": "cautious",
                "AWS_ENDPOINT_URL": s3_endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )
        port = st.free_port()
        stack = st.DagsterStack(base_url=f"http://127.0.0.1:{port}", env=env)
        saved_environ = dict(os.environ)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("DAGSTER_", "C360_", "AWS_"))})
        try:
            st.start_webserver(stack, port, ARTIFACTS)
            st.wait_for(lambda: (stack.alive(), stack.server_info())[1], 180, 1, "dagster-webserver /server_info")
            timings["webserver_ready_seconds"] = (datetime.now(UTC) - t0).total_seconds()
            yield E2EContext(stack, receiver, s3_endpoint, bucket, outbox, today, home, duckdb_path, ARTIFACTS, timings)
        finally:
            stopped = stack.stop()
            timings["stopped"] = stopped
            os.environ.clear()
            os.environ.update(saved_environ)
            signal.signal(signal.SIGTERM, previous_handler)
