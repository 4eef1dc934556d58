"""Code references on every asset: the UI's "View code" links of each asset to the code that builds it.

- Python assets (raw loads, ML scores): the decorated function's file and line (``dg.with_source_code_references``).
- dbt assets: the model's, seed's or snapshot's file (dagster-dbt's ``enable_code_references``, set in
  :mod:`customer360.transform.translator`), plus the Python function that runs dbt.

Where the repository is known the local paths become links to it at the exact commit
(``dg.link_code_references_to_git``): ``C360_GIT_URL`` / ``C360_GIT_REF`` when set (a Docker image has no ``.git``),
else this checkout's ``origin`` remote when it is a GitHub or GitLab URL, at ``HEAD``. Elsewhere (a clone of a
local folder, no git at all) the references stay local file paths.
"""

import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.definitions.metadata.source_code import base_git_url, convert_local_path_to_git_path

from customer360.settings import REPO_ROOT, Settings

ANCHOR = "pyproject.toml"  # a file at the repository root, to map local paths to paths in the repository
_SSH_REMOTE = re.compile(r"^(?:ssh://)?git@(?P<host>[\w.-]+)[:/](?P<path>[\w./-]+?)(?:\.git)?/?$")
_HTTPS_REMOTE = re.compile(r"^https://(?:[^@/]+@)?(?P<host>[\w.-]+)/(?P<path>[\w./-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class GitLink:
    url: str  # https://github.com/<owner>/<repo>
    ref: str  # commit (or branch) the links point at
    platform: str  # "github" | "gitlab"


def browsable_url(remote: str) -> tuple[str, str] | None:
    """``(https URL, platform)`` of a GitHub/GitLab remote (https or ssh form, credentials dropped), else None."""
    match = _SSH_REMOTE.match(remote.strip()) or _HTTPS_REMOTE.match(remote.strip())
    if not match:
        return None
    host = match.group("host").lower()
    platform = "github" if "github" in host else "gitlab" if "gitlab" in host else None
    if platform is None:
        return None
    return f"https://{host}/{match.group('path')}", platform


def _git(repo_root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo_root), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def git_link(settings: Settings, repo_root: Path = REPO_ROOT) -> GitLink | None:
    remote = settings.git_url or _git(repo_root, "config", "--get", "remote.origin.url")
    browsable = browsable_url(remote) if remote else None
    if browsable is None:
        return None
    ref = settings.git_ref or _git(repo_root, "rev-parse", "HEAD")
    return GitLink(browsable[0], ref, browsable[1]) if ref else None


def _link_spec(spec: dg.AssetSpec, base: str, mapping: dg.FilePathMapping) -> dg.AssetSpec:
    value = spec.metadata.get("dagster/code_references")
    if value is None:
        return spec
    linked = [
        convert_local_path_to_git_path(base, mapping, r) if isinstance(r, dg.LocalFileCodeReference) else r
        for r in value.code_references
    ]
    return spec.replace_attributes(
        metadata={**spec.metadata, "dagster/code_references": dg.CodeReferencesMetadataValue(code_references=linked)}
    )


def with_code_references(defs: dg.Definitions, settings: Settings, repo_root: Path = REPO_ROOT) -> dg.Definitions:
    """``defs`` with code references on every asset (linked to the repository when :func:`git_link` finds it)."""
    link = git_link(settings, repo_root)
    with warnings.catch_warnings():  # beta in 1.13; dagster is pinned and the tests read the references back
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(list(defs.assets or []))
        if link is not None:
            mapping = dg.AnchorBasedFilePathMapping(
                local_file_anchor=repo_root / ANCHOR, file_anchor_path_in_repository=ANCHOR
            )
            assets = dg.link_code_references_to_git(
                assets, git_url=link.url, git_branch=link.ref, platform=link.platform, file_path_mapping=mapping
            )
            # dagster links the references of assets definitions only; external assets (the dashboards) here
            base = base_git_url(link.url, link.ref, link.platform)
            assets = [_link_spec(a, base, mapping) if isinstance(a, dg.AssetSpec) else a for a in assets]
    return dg.Definitions(
        assets=assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )
