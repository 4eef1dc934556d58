"""MetricFlow queries for the consumers: every query of one caller in ONE process, through MetricFlow's Python API.

``mf query`` pays the whole start of dbt + MetricFlow for each query (import dbt and MetricFlow, read the profile,
load the adapter and the semantic manifest, open the warehouse): the scorecard's three queries cost three of them.
:func:`query_all` runs one child process (this file as a script, in ``dbt_project/``) that sets MetricFlow
up once, exactly as ``mf`` does (``CLIConfiguration``: the dbt project in ``dbt_project/``, ``DBT_PROFILES_DIR`` and
the target/warehouse variables from the caller's environment), then answers every query with
``MetricFlowEngine.query`` and writes each result as CSV (the same rows ``mf query --csv`` writes).

A child process rather than the Dagster step's own: setting MetricFlow up changes dbt's global state (flags,
adapter registry, root logging) and keeps a warehouse connection open (on DuckDB, a lock on the file); when the
child exits all of that is gone. A query MetricFlow cannot answer stops the child with MetricFlow's own message,
raised here as :class:`SemanticLayerError` naming the query.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

# The child runs this file as a script in the dbt project folder: it imports only the standard library and
# MetricFlow (importing customer360 would import the whole consumers package, dagster included: seconds per run).
ERROR_FILE = "error.json"


class SemanticLayerError(RuntimeError):
    """MetricFlow could not answer (unknown metric or dimension, warehouse not reachable …)."""


@dataclass(frozen=True)
class MetricQuery:
    metrics: tuple[str, ...]
    group_by: tuple[str, ...] = ()

    def as_command(self) -> str:
        """The equivalent ``mf query`` command line (for messages)."""
        return f"mf query --metrics {','.join(self.metrics)}" + (
            f" --group-by {','.join(self.group_by)}" if self.group_by else ""
        )


def query_all(queries: Sequence[MetricQuery], env: Mapping[str, str], timeout: float = 600) -> "list[pl.DataFrame]":
    """Answer ``queries`` in one MetricFlow process; one frame per query, in order."""
    import polars as pl

    from customer360.settings import DBT_PROJECT_DIR

    with tempfile.TemporaryDirectory() as folder:
        request = Path(folder) / "request.json"
        request.write_text(json.dumps([{"metrics": q.metrics, "group_by": q.group_by} for q in queries]))
        # the child process inherits the environment (MetricFlow's dbt reads its own variables there)
        proc = subprocess.run(
            [sys.executable, __file__, str(request), folder],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        error = Path(folder) / ERROR_FILE
        if error.exists():
            failed = json.loads(error.read_text())
            raise SemanticLayerError(
                f"the semantic layer could not answer `{queries[failed['index']].as_command()}`:"
                f"\n{failed['message'][-3000:]}"
            )
        if proc.returncode != 0:
            raise SemanticLayerError(
                f"the semantic layer process failed (exit {proc.returncode}) before answering "
                f"{len(queries)} quer{'y' if len(queries) == 1 else 'ies'}:\n"
                f"{(proc.stdout + proc.stderr)[-3000:]}"
            )
        return [pl.read_csv(Path(folder) / f"{i}.csv", infer_schema_length=None) for i in range(len(queries))]


def _answer(request: Path, folder: Path) -> int:
    queries = json.loads(request.read_text())
    index = -1
    try:
        from dbt_metricflow.cli.cli_configuration import CLIConfiguration
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        config = CLIConfiguration()
        config.setup(dbt_project_path=Path.cwd(), configure_file_logging=False)  # the caller runs it in dbt_project/
        engine = config.mf
        for index, query in enumerate(queries):
            result = engine.query(
                MetricFlowQueryRequest.create(metric_names=query["metrics"], group_by_names=query["group_by"] or None)
            )
            frame = result.result_df
            with open(folder / f"{index}.csv", "w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(frame.column_names)
                writer.writerows(frame.rows)
    except Exception as exc:  # reported to the caller with the query it belongs to
        (folder / ERROR_FILE).write_text(
            json.dumps({"index": max(index, 0), "message": f"{type(exc).__name__}: {exc}"})
        )
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_answer(Path(sys.argv[1]), Path(sys.argv[2])))
