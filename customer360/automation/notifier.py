"""Alert notifier: a Slack-compatible webhook (``C360_ALERT_WEBHOOK_URL``) and, always, one JSON log line.

An ``Alert`` carries a stable ``dedup_key`` (derived from the event-log record that caused it), so a receiver can
drop the rare duplicate that at-least-once delivery allows (daemon killed between the POST and the sensor's cursor
commit). The webhook URL is a secret: it is read through ``dagster.EnvVar`` and never logged.
"""

import json
import logging
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

ALERT_WEBHOOK_ENV = "C360_ALERT_WEBHOOK_URL"
ALERT_LOGGER_NAME = "customer360.alerts"

SEVERITIES = ("error", "warning", "resolved")
_EMOJI = {"error": ":red_circle:", "warning": ":large_yellow_circle:", "resolved": ":large_green_circle:"}


@dataclass(frozen=True)
class Alert:
    dedup_key: str  # stable for one transition / failure: "<kind>:<event storage id>"
    kind: str  # "freshness" | "asset_check" | "run_failure"
    severity: str  # one of SEVERITIES
    title: str
    text: str
    occurred_at: float  # unix seconds (UTC) of the event that caused the alert
    asset_key: str | None = None
    run_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {SEVERITIES}, not {self.severity!r}")

    def to_record(self) -> dict[str, Any]:
        """The structured form: the JSON log line and the machine-readable part of the webhook payload."""
        record = asdict(self)
        record["occurred_at"] = datetime.fromtimestamp(self.occurred_at, UTC).isoformat()
        return {"event": "customer360.alert", **record}

    def to_slack_payload(self) -> dict[str, Any]:
        """Slack incoming-webhook JSON (``text`` + ``blocks``), plus the structured record for other receivers."""
        headline = f"{_EMOJI[self.severity]} *{self.title}*"
        return {
            "text": f"[{self.severity.upper()}] {self.title}: {self.text}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"{headline}\n{self.text}"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"dedup_key `{self.dedup_key}`"}]},
            ],
            "customer360_alert": self.to_record(),
        }


class AlertDeliveryError(RuntimeError):
    """The webhook did not accept the alert after every attempt; the caller keeps it for the next tick."""


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (daemon logs, test capture)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _alert_logger() -> logging.Logger:
    logger = logging.getLogger(ALERT_LOGGER_NAME)
    if not logger.handlers:  # always visible, whatever logging config the hosting process has
        handler = _CurrentStderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _validate_webhook_url(url: str) -> str:
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{ALERT_WEBHOOK_ENV} must be an http(s) URL")
    return url


class AlertNotifier(dg.ConfigurableResource):
    """Sends alerts: the JSON log line always, the webhook when ``webhook_url`` is set.

    ``send`` raises ``AlertDeliveryError`` when the webhook keeps failing, so the alert sensors leave their cursor
    before that alert and retry it on the next tick (at-least-once, nothing lost).
    """

    webhook_url: str | None = None
    timeout_seconds: float = 5.0
    attempts: int = 3
    backoff_seconds: float = 0.5

    def send(self, alert: Alert) -> None:
        record = alert.to_record()
        record["delivery"] = "webhook" if self.webhook_url else "log_only"
        level = {"error": logging.ERROR, "warning": logging.WARNING}.get(alert.severity, logging.INFO)
        _alert_logger().log(level, json.dumps(record, sort_keys=True, default=str))
        if self.webhook_url:
            self._post(_validate_webhook_url(self.webhook_url), alert.to_slack_payload())

    def _post(self, url: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, default=str).encode()
        last_error = ""
        for attempt in range(1, max(1, self.attempts) + 1):
            request = urllib.request.Request(
                url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # validated URL
                    if 200 <= response.status < 300:
                        return
                    last_error = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                last_error = type(exc).__name__ + ": " + str(getattr(exc, "reason", exc))
            if attempt < self.attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        # the URL is a secret: name the failure, never the URL
        raise AlertDeliveryError(f"alert webhook failed after {self.attempts} attempts: {last_error}")


def alert_notifier(webhook_set: bool) -> AlertNotifier:
    """The notifier for ``Definitions``: webhook through ``EnvVar`` when the variable is set
    (``Settings.alert_webhook_set``), else log only."""
    if webhook_set:
        return AlertNotifier(webhook_url=dg.EnvVar(ALERT_WEBHOOK_ENV))
    return AlertNotifier()
