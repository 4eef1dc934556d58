"""Synthetic source feeds for customer360 (the seven sources of the design documents) with a planted truth.

Public API::

    from data_generation import GenerateConfig, generate, append_day
    summary = generate(GenerateConfig(landing="data/landing", scale=0.01, days=90))
    print(summary.table())

CLI: ``python -m data_generation --scale S --days N --end-date YYYY-MM-DD --landing URL --truth DIR --seed K
[--append-day] [--bad-files N]``.
"""

from .append import append_day
from .generator import GenerateConfig, SourceSummary, Summary, default_truth_dir, generate

__all__ = ["GenerateConfig", "SourceSummary", "Summary", "append_day", "default_truth_dir", "generate"]
