"""The daily partitions start where the data starts: explicit setting, else the recorded start, else the default."""

import json

import pytest

from customer360.partitions_start import DEFAULT_PARTITIONS_START, RECORD_KEY, record_start
from customer360.settings import Settings


@pytest.fixture
def quarantine(monkeypatch, tmp_path):
    monkeypatch.setenv("C360_QUARANTINE_URL", str(tmp_path / "quarantine"))
    monkeypatch.delenv("C360_PARTITIONS_START", raising=False)
    return tmp_path / "quarantine"


def test_default_when_nothing_is_recorded(quarantine):
    assert Settings.from_env().partitions_start == DEFAULT_PARTITIONS_START


def test_recorded_start_is_used_by_every_later_settings_read(quarantine):
    from datetime import date

    record_start(str(quarantine), date(2026, 9, 2), "test")
    assert Settings.from_env().partitions_start == "2026-09-02"
    assert json.loads((quarantine / RECORD_KEY).read_text())["recorded_by"] == "test"


def test_explicit_setting_wins_and_is_validated(quarantine, monkeypatch):
    from datetime import date

    record_start(str(quarantine), date(2026, 9, 2), "test")
    monkeypatch.setenv("C360_PARTITIONS_START", "2025-01-01")
    assert Settings.from_env().partitions_start == "2025-01-01"
    monkeypatch.setenv("C360_PARTITIONS_START", "2025-13-01")
    with pytest.raises(ValueError, match="C360_PARTITIONS_START"):
        Settings.from_env()


def test_a_damaged_record_falls_back_to_the_default_with_a_warning(quarantine, caplog):
    (quarantine / RECORD_KEY).parent.mkdir(parents=True)
    (quarantine / RECORD_KEY).write_text('{"start": "not a day"}')
    assert Settings.from_env().partitions_start == DEFAULT_PARTITIONS_START
    assert "unreadable" in caplog.text
