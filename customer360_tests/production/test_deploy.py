"""The deployable Dagster: compose/Helm/env files are consistent, the instance config loads against a real
PostgreSQL, and the code location answers over gRPC. (Docker cannot run here: what can be checked is checked.)"""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from customer360_tests.e2e.stack import _restore_default_signals as restore_default_signals
from customer360_tests.production.helpers import BIN, REPO, free_port, stop, wait_for_port

DEPLOY = REPO / "deploy"
ENV_DIR = DEPLOY / "env"
# Read by code but deliberately not in the env templates: the optional parts of the standard AWS credential
# chain (containers use keys or an IAM role) and test-only switches.
# DBT_PROFILES_DIR: set by the code itself for its mf/dbt subprocesses (the project folder), never read from the env
# not set by an operator: C360_DBT_RUN_VARS carries a run's values from Dagster to its dbt subprocess (transform/assets.py)
# set by the code for its own dbt processes (run values, the spill folder derived from C360_DUCKDB_PATH, the target
# folder of a dev re-parse) or by Dagster itself (`dagster dev` / `dg dev` mark their processes)
NOT_DEPLOYMENT_SETTINGS = {
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "DBT_PROFILES_DIR",
    "C360_DBT_RUN_VARS",
    "C360_DUCKDB_TEMP_DIRECTORY",
    "DBT_TARGET_PATH",
    "DAGSTER_IS_DEV_CLI",
}
SETTING_NAME = re.compile(r"^(C360|SNOWFLAKE|AWS|DAGSTER|DBT)_[A-Z0-9_]+$")


def _env_example(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def _all_env_examples() -> dict[str, dict[str, str]]:
    return {p.name: _env_example(p) for p in sorted(ENV_DIR.glob("*.env.example"))}


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_parses_and_every_referenced_file_and_variable_exists():
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "minio", "minio-init", "code-location", "webserver", "daemon"} <= set(services)
    examples = _all_env_examples()
    for name, svc in services.items():
        env_vars: dict[str, str] = {}
        for env_file in svc.get("env_file", []):
            path = env_file if isinstance(env_file, str) else env_file["path"]
            assert path.startswith("deploy/env/") and path.endswith(".env"), path
            template = Path(path).name + ".example"
            assert template in examples, f"{name}: env file {path} has no template deploy/env/{template}"
            env_vars.update(examples[template])
        # `$${VAR}` is expanded inside the container: it must come from the service's env files
        text = yaml.safe_dump(svc)
        for var in re.findall(r"\$\$\{(\w+)\}", text):
            assert var in env_vars, f"{name} uses ${{{var}}} but none of its env files defines it"
        assert not re.findall(r"(?<!\$)\$\{(\w+)", text), f"{name}: host-side interpolation would need a .env"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has no health check"
        if name != "minio-init":
            assert "healthcheck" in svc, f"{name} has no health check"
        build = svc.get("build")
        if build:
            assert (REPO / build["context"] / build["dockerfile"]).is_file()
    for vol in compose.get("volumes", {}):
        assert any(vol + ":" in str(s.get("volumes", [])) for s in services.values()), f"unused volume {vol}"


def test_compose_wiring_is_consistent():
    compose = _compose()
    services = compose["services"]
    examples = _all_env_examples()
    # the workspace points at the code-location service and port the compose file starts
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert grpc["host"] in services
    command = services[grpc["host"]]["command"]
    assert command[:3] == ["dagster", "api", "grpc"]
    assert str(grpc["port"]) == command[command.index("-p") + 1]
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert command[command.index("-m") + 1] == module
    # webserver/daemon read the workspace file the image installs
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for svc in ("webserver", "daemon"):
        ws = services[svc]["command"][services[svc]["command"].index("-w") + 1]
        assert f"COPY deploy/workspace.yaml {ws}" in dockerfile
    # every COPY source of the Dockerfile exists; the manifest is built in the image
    for src in re.findall(r"^COPY (\S+(?: \S+)*) \S+$", dockerfile, flags=re.M):
        for part in src.split():
            assert (REPO / part).exists(), f"Dockerfile copies missing {part}"
    assert "prepare_dbt.py" in dockerfile and "manifest.json" in dockerfile
    # the Dagster instance talks to the compose Postgres with the same credentials
    pg, dg = examples["postgres.env.example"], examples["dagster.env.example"]
    assert dg["DAGSTER_PG_HOST"] == "postgres"
    assert (dg["DAGSTER_PG_USERNAME"], dg["DAGSTER_PG_DB"]) == (pg["POSTGRES_USER"], pg["POSTGRES_DB"])
    # the bucket created at start is the one the landing URLs point into
    bucket = examples["minio.env.example"]["C360_LANDING_BUCKET"]
    c360 = examples["customer360.env.example"]
    for var in ("C360_LANDING_URL", "C360_QUARANTINE_URL", "C360_ARTIFACTS_URL"):
        assert c360[var].startswith(f"s3://{bucket}/"), var
    assert c360["AWS_ENDPOINT_URL"].startswith("http://minio:")
    # the image's dbt manifest is built for the warehouse the containers run on
    assert services["code-location"]["build"]["args"]["C360_WAREHOUSE"] == c360["C360_WAREHOUSE"]
    assert "ARG C360_WAREHOUSE" in dockerfile


def _settings_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "customer360").rglob("*.py"):
        names |= set(re.findall(r"[\"']((?:C360|SNOWFLAKE|AWS|DAGSTER|DBT)_[A-Z0-9_]+)[\"']", path.read_text()))
    for path in list(DBT_DIR.rglob("*.yml")) + list(DBT_DIR.rglob("*.sql")):
        if "target" in path.relative_to(DBT_DIR).parts:
            continue
        names |= set(re.findall(r"env_var\(\s*['\"]([A-Z0-9_]+)['\"]", path.read_text()))
    names |= set(re.findall(r"\{env: (\w+)\}", (DEPLOY / "dagster.yaml").read_text()))
    return {n for n in names if SETTING_NAME.match(n) and not n.startswith("C360_TEST_")} - NOT_DEPLOYMENT_SETTINGS


DBT_DIR = REPO / "dbt_project"


def test_env_examples_list_every_variable_the_code_reads():
    read = _settings_read_by_code()
    assert {"C360_WAREHOUSE", "SNOWFLAKE_ACCOUNT", "DAGSTER_PG_PASSWORD"} <= read  # the scan works
    documented = set().union(*(set(v) for v in _all_env_examples().values()))
    missing = sorted(read - documented)
    assert not missing, f"env vars read by the code but in no deploy/env/*.env.example: {missing}"


def test_no_secret_in_the_repository_templates():
    assert "*.env" in (ENV_DIR / ".gitignore").read_text().split()
    for file_name, values in _all_env_examples().items():
        for name, value in values.items():
            if re.search(r"PASSWORD|SECRET|PRIVATE_KEY$|PASSPHRASE", name):
                assert value in ("", "change-me", "change-me-too"), f"{file_name}: {name} holds a value"
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())

    def walk(node, path=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if re.search(r"password|secretkey|token", k, re.I) and not k.endswith(("SecretName", "Secret")):
                    raise AssertionError(f"helm values hold a credential at {path}.{k}")
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(values)


def test_helm_values_use_k8s_launcher_and_kubernetes_secrets():
    text = (DEPLOY / "helm" / "values.yaml").read_text()
    values = yaml.safe_load(text)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["generatePostgresqlPasswordSecret"] is False and values["global"]["postgresqlSecretName"]
    assert values["postgresql"]["enabled"] is False
    deployment = values["dagster-user-deployments"]["deployments"][0]
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", module]
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["dagsterDaemon"]["runRetries"]["enabled"] is True
    # every secret / config map the chart references is created by the documented quick start
    created = set(re.findall(r"create (?:secret generic|configmap) (\S+)", text))
    referenced = {s["name"] for s in deployment["envSecrets"] + deployment["envConfigMaps"]}
    referenced |= {values["global"]["postgresqlSecretName"]}
    referenced |= {v["secret"]["secretName"] for v in deployment.get("volumes", []) if "secret" in v}
    assert referenced <= created, f"not created by the quick start: {referenced - created}"
    config = _env_example(DEPLOY / "helm" / "customer360-config.env")
    assert config["C360_WAREHOUSE"] == "snowflake" and config["C360_DBT_TARGET"] == "snowflake"


def test_dagster_yaml_loads_against_postgres(tmp_path, postgres_database, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    env = {
        **os.environ,
        **postgres_database,
        "DAGSTER_HOME": str(home),
        "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute_logs"),
        "DAGSTER_ARTIFACT_DIR": str(tmp_path / "storage"),
    }
    out = subprocess.run(
        [str(BIN / "dagster"), "instance", "info"], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    info = out.stdout
    for storage in ("PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"):
        assert f": {storage}" in info, storage
    # storage was created and migrated to the current schema in the test database
    state = yaml.safe_load(info.split("Storage schema state:")[1].split("\n", 2)[2])
    for kind, versions in state["schema"].items():
        assert versions["current"] == versions["latest"], kind
    # the settings the deployment relies on are in force (read back through the instance API)
    import dagster as dg

    for key, value in env.items():
        if key.startswith("DAGSTER_"):
            monkeypatch.setenv(key, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        concurrency = instance.get_concurrency_config()
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert concurrency.run_queue_config.max_concurrent_runs == 8
        assert concurrency.pool_config.default_pool_limit == 1  # the `warehouse` pool: one DuckDB writer
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert type(instance.compute_log_manager).__name__ == "LocalComputeLogManager"
        assert instance.run_launcher.__class__.__name__ == "DefaultRunLauncher"


def test_code_location_serves_over_grpc(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "C360_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "C360_LANDING_URL": str(tmp_path / "landing"),
        "C360_QUARANTINE_URL": str(tmp_path / "quarantine"),
        "C360_ARTIFACTS_URL": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path),
    }
    with open(tmp_path / "grpc.log", "wb") as log:  # the server writes to its own copy of the descriptor
        proc = subprocess.Popen(
            [str(BIN / "dagster"), "api", "grpc", "-m", "customer360.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # own session + default SIGTERM/SIGINT: earlier tests in the same pytest process leave SIGTERM ignored,
            # and an ignored signal is inherited across exec — the server then never stops (exit -9 in the full suite)
            preexec_fn=restore_default_signals,
        )
    try:
        wait_for_port(port, proc, timeout=180)
        health = subprocess.run(
            [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert health.returncode == 0, health.stdout + health.stderr
        # the webserver's view: a workspace with a grpc_server entry loads the code location's definitions
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        assert (
            client.ping("customer360") == {"echo": "customer360", "serialized_server_utilization_metrics": ""}
            or client.ping("customer360")["echo"] == "customer360"
        )
    finally:
        code = stop(proc)
    assert code is not None, "the code server did not stop"
    if code not in (0, -15):
        pytest.fail(f"code server exited with {code}: {(tmp_path / 'grpc.log').read_text()[-2000:]}")
