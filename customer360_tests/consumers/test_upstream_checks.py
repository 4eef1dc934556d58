"""A failing check upstream is visible on the consumer's node: the ``upstream_checks`` check of every exposure."""

import json

import dagster as dg
import pytest

from customer360.consumers.exposures import Exposure, exposures
from customer360.consumers.upstream_checks import (
    UPSTREAM_CHECK_NAME,
    sync_upstream_checks,
    upstream_check_keys,
    upstream_check_sensor,
    with_upstream_checks,
)
from customer360.transform.project import dbt_project

MART = dg.AssetKey(["marts", "fct_orders"])
DASHBOARD = Exposure(
    name="sigma_revenue_by_channel",
    unique_id="exposure.c360.sigma_revenue_by_channel",
    type="dashboard",
    tool="sigma",
    label="Sigma — revenue by channel",
    description="",
    owner="team:finance",
    maturity=None,
    url=None,
    deps=(MART,),
    built_by=None,
)
OWN = dg.AssetCheckKey(DASHBOARD.key, UPSTREAM_CHECK_NAME)


def _defs(outcome: dict) -> dg.Definitions:
    """A mart with an ERROR test and a WARN test (outcomes from ``outcome``), and one dashboard reading it."""

    @dg.asset(
        key=MART,
        check_specs=[
            dg.AssetCheckSpec("not_null_order_id", asset=MART),
            dg.AssetCheckSpec("accepted_values_status", asset=MART),
        ],
    )
    def mart():
        if outcome.get("crash"):
            raise RuntimeError("the dbt step died before its tests ran")
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(
            check_name="not_null_order_id", passed=outcome["error_test"], severity=dg.AssetCheckSeverity.ERROR
        )
        yield dg.AssetCheckResult(
            check_name="accepted_values_status", passed=outcome["warn_test"], severity=dg.AssetCheckSeverity.WARN
        )

    base = dg.Definitions(assets=[mart, dg.AssetSpec(DASHBOARD.key, deps=[MART], kinds={"sigma"})])
    return dg.Definitions.merge(
        with_upstream_checks(base, [DASHBOARD]),
        dg.Definitions(jobs=[dg.define_asset_job("execute_dashboard_check", selection=dg.AssetSelection.checks(OWN))]),
    )


def _latest(instance: dg.DagsterInstance):
    execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([OWN]).get(OWN)
    return execution.event.dagster_event.event_specific_data if execution else None


def _build_mart(instance, outcome):
    defs = _defs(outcome)
    result = defs.get_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[MART], raise_on_error=False
    )
    assert result.success != bool(outcome.get("crash"))
    return defs


def test_an_error_test_failing_on_the_mart_fails_the_dashboards_check_and_passing_again_clears_it():
    outcome = {"error_test": False, "warn_test": True}
    with dg.instance_for_test() as instance:
        defs = _build_mart(instance, outcome)
        graph = defs.resolve_asset_graph()
        assert _latest(instance) is None  # never evaluated before the mart had check results

        reported = sync_upstream_checks(instance, graph)
        assert [(e.asset_key, e.passed) for e in reported] == [(DASHBOARD.key, False)]
        evaluation = _latest(instance)
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert "marts/fct_orders:not_null_order_id" in evaluation.description
        assert evaluation.metadata["failing_upstream_checks"].value == ["marts/fct_orders:not_null_order_id"]
        assert sync_upstream_checks(instance, graph) == []  # in sync: nothing reported twice

        # the same failure at the next build: the verdict is unchanged, nothing new on the dashboard
        _build_mart(instance, outcome)
        assert sync_upstream_checks(instance, graph) == []

        # a WARN test failing does not stop the pipeline: the dashboard passes once the ERROR test passes
        outcome.update(error_test=True, warn_test=False)
        _build_mart(instance, outcome)
        context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
        result = upstream_check_sensor(context)
        assert "1 consumer check result(s) reported (0 failing)" in result.skip_message
        assert _latest(instance).passed
        assert "in sync" in upstream_check_sensor(context).skip_message


def test_a_check_left_planned_by_a_failed_run_does_not_freeze_the_dashboard():
    with dg.instance_for_test() as instance:
        defs = _build_mart(instance, {"error_test": False, "warn_test": True})
        graph = defs.resolve_asset_graph()
        assert not sync_upstream_checks(instance, graph)[0].passed
        _build_mart(instance, {"crash": True})  # both tests planned, never evaluated: the run failed
        assert sync_upstream_checks(instance, graph) == []  # nothing new to say
        # the test is re-run on its own (e.g. the weekly full dbt tests) and passes: the dashboard follows
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=MART, check_name="not_null_order_id", passed=True, severity=dg.AssetCheckSeverity.ERROR
            )
        )
        reported = sync_upstream_checks(instance, graph)
        assert [(e.asset_key, e.passed) for e in reported] == [(DASHBOARD.key, True)]
        assert reported[0].metadata["upstream_checks_without_result"].value == 1


def test_executing_the_check_evaluates_the_latest_upstream_results():
    with dg.instance_for_test() as instance:
        defs = _build_mart(instance, {"error_test": False, "warn_test": True})
        result = defs.resolve_job_def("execute_dashboard_check").execute_in_process(instance=instance)
        evaluations = result.get_asset_check_evaluations()
        assert [(e.asset_check_key, e.passed) for e in evaluations] == [(OWN, False)]


@pytest.fixture(scope="module")
def code_location():
    from customer360.definitions import defs

    return defs.resolve_asset_graph()


def test_every_consumer_follows_the_dbt_tests_of_the_marts_it_reads(code_location):
    manifest = json.loads(dbt_project("local").manifest_path.read_text())
    for exposure in exposures(manifest):
        key = dg.AssetCheckKey(exposure.key, UPSTREAM_CHECK_NAME)
        assert key in code_location.asset_check_keys, exposure.name
        spec = code_location.get_check_spec(key)
        assert {d.asset_key for d in spec.additional_deps} == set(exposure.deps)
        followed = upstream_check_keys(code_location, exposure.deps)
        assert followed and {k.asset_key for k in followed} <= set(exposure.deps)
        assert all(k.name not in ("freshness_sla", UPSTREAM_CHECK_NAME) for k in followed)
    fraud = upstream_check_keys(code_location, [dg.AssetKey(["marts", "fct_transactions"])])
    assert any(k.name.startswith("not_null_fct_transactions") for k in fraud)
