"""Every asset of the code location has code references; with a known repository they link to it."""

import dataclasses

import dagster as dg
import pytest
from dagster._core.definitions.metadata.source_code import LocalFileCodeReference, UrlCodeReference

from customer360.code_references import browsable_url, with_code_references
from customer360.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def code_location():
    from customer360.definitions import defs

    return defs


def _references(defs: dg.Definitions) -> dict[dg.AssetKey, list]:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable or node.is_external:  # every asset the UI lists, dashboards included
            value = node.metadata.get("dagster/code_references")
            out[key] = list(value.code_references) if value is not None else []
    return out


def test_every_asset_points_at_the_code_that_builds_it(code_location):
    refs = _references(code_location)
    assert refs and all(refs.values()), [k.to_user_string() for k, v in refs.items() if not v]
    by_key = {k.to_user_string(): v for k, v in refs.items()}
    local = lambda key: {r.file_path for r in by_key[key] if isinstance(r, LocalFileCodeReference)}  # noqa: E731
    assert str(REPO_ROOT / "dbt_project" / "models" / "marts" / "fct_customer_value.sql") in local(
        "marts/fct_customer_value"
    )
    assert str(REPO_ROOT / "customer360" / "ingestion" / "assets.py") in local("raw/orders")
    assert str(REPO_ROOT / "customer360" / "ml" / "assets.py") in local("ml/churn_predictions")
    exposures_yml = str(REPO_ROOT / "dbt_project" / "models" / "exposures" / "_exposures.yml")
    assert exposures_yml in local("consumers/sigma_revenue_by_channel")  # a dashboard: its declaration
    for references in refs.values():
        for r in references:
            if isinstance(r, LocalFileCodeReference):
                assert (REPO_ROOT / r.file_path).exists(), r


def test_references_link_to_the_configured_repository_at_its_commit(code_location):
    settings = dataclasses.replace(
        Settings.from_env(), git_url="git@github.com:acme/customer360.git", git_ref="0123abc"
    )
    linked = with_code_references(
        dg.Definitions(assets=list(code_location.assets), resources=code_location.resources), settings
    )
    urls = {r.url for refs in _references(linked).values() for r in refs if isinstance(r, UrlCodeReference)}
    assert "https://github.com/acme/customer360/tree/0123abc/dbt_project/models/marts/fct_customer_value.sql" in urls
    assert any(
        u.startswith("https://github.com/acme/customer360/tree/0123abc/customer360/ml/assets.py#L") for u in urls
    )
    assert all(isinstance(r, UrlCodeReference) for refs in _references(linked).values() for r in refs)


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/customer360.git", ("https://github.com/acme/customer360", "github")),
        ("https://token@github.com/acme/customer360", ("https://github.com/acme/customer360", "github")),
        ("git@gitlab.com:data/c360.git", ("https://gitlab.com/data/c360", "gitlab")),
        ("ssh://git@github.com/acme/customer360.git", ("https://github.com/acme/customer360", "github")),
        ("/work/main", None),  # a clone of a local folder: nothing to link to
        ("https://example.com/acme/c360.git", None),  # unknown host: no URL scheme to build file links with
    ],
)
def test_browsable_url(remote, expected):
    assert browsable_url(remote) == expected
