"""``customer360 demo`` refuses arguments it cannot build with, in one line, before doing any work."""

import pytest

from customer360.cli import main
from customer360.ml.features import MIN_HISTORY_DAYS


@pytest.fixture
def empty_data(monkeypatch, tmp_path):
    for name, sub in (
        ("C360_LANDING_URL", "landing"),
        ("C360_QUARANTINE_URL", "quarantine"),
        ("C360_DUCKDB_PATH", "w.duckdb"),
        ("C360_ARTIFACTS_URL", "artifacts"),
        ("DAGSTER_HOME", "home"),
    ):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.delenv("C360_PARTITIONS_START", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["demo", "--days", str(MIN_HISTORY_DAYS - 7), "--no-ui"], f"need at least {MIN_HISTORY_DAYS} days"),
        (["demo", "--scale", "0", "--no-ui"], "must be > 0"),
        (["demo", "--skip-generate", "--no-ui"], "no landing files"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_work(empty_data, capsys, argv, reason):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and reason in err and "\n" not in err
    assert not (empty_data / "landing").exists() or not any((empty_data / "landing").iterdir())  # nothing generated
    assert not (empty_data / "home").exists()


def test_a_start_setting_after_the_data_is_refused(empty_data, monkeypatch, capsys):
    monkeypatch.setenv("C360_PARTITIONS_START", "2030-01-01")
    assert main(["demo", "--end-date", "2026-06-30", "--no-ui"]) == 2
    assert "C360_PARTITIONS_START=2030-01-01" in capsys.readouterr().err
