"""The dbt project's vars (``dbt_project.yml``) as the one home of the thresholds the consumers share with dbt.

``churn_probability_threshold`` (0.7) drives the ``churn_rate`` metric (semantic layer), the retention alerts and the
churn model's high-risk tier (``customer360.ml.churn.high_risk``: its metadata and the benchmark's precision);
the fraud vars name the signals the compliance export reports. Override one for dbt and Python alike by editing
``dbt_project.yml`` (re-run ``scripts/prepare_dbt.py`` so the semantic manifest renders the new value).
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from customer360.settings import DBT_PROJECT_DIR


@lru_cache(maxsize=4)
def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    return dict(yaml.safe_load((project_dir / "dbt_project.yml").read_text()).get("vars") or {})


def project_var(name: str, project_dir: Path = DBT_PROJECT_DIR) -> Any:
    variables = project_vars(project_dir)
    if name not in variables:
        raise KeyError(f"dbt var {name!r} is not defined in {project_dir / 'dbt_project.yml'}")
    return variables[name]


def churn_probability_threshold() -> float:
    """``churn_probability`` above this = high churn risk (the design's "> 0.7")."""
    return float(project_var("churn_probability_threshold"))
