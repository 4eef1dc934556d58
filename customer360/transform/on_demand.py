"""Stand-ins for the dagster-dbt objects that ``@dbt_assets`` attaches to every dbt asset's metadata — the parsed
manifest, the translator and the ``DbtProject`` — built on first use, so the code location never imports dagster-dbt.

``DbtCliResource.cli(..., context=context)`` reads the three back from the step's assets definition
(``get_manifest_and_translator_from_dbt_assets``: ``metadata["dagster_dbt/manifest"].manifest``, the translator and
the project) to compute the dbt selection of the step's subset and to map dbt's events to outputs and check results;
that happens inside the step, where dagster-dbt is imported anyway. dagster-dbt checks the types of the translator
(``DagsterDbtTranslator``) and the project (``DbtProject``): a built :class:`OnDemand` passes those checks as its
object (``__class__``), so the step builds them first (:func:`resolve_all`, called by
:meth:`customer360.transform.resource.C360DbtResource.cli`).
"""

import json
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any


class ManifestOnDemand:
    """In place of dagster-dbt's ``DbtManifestWrapper``: ``manifest`` is the JSON at ``path``, read on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def __repr__(self) -> str:
        return f"ManifestOnDemand({str(self.path)!r})"


class OnDemand:
    """The object ``factory()`` returns, built on the first use of one of its attributes (then delegated to).

    Dunder names are not delegated (``copy``, ``pickle`` and Dagster's metadata normalisation probe some of them;
    none of them may build the object at load). Once built, ``isinstance`` sees the object's class; before, only
    :class:`OnDemand` (a type check never builds it)."""

    def __init__(self, factory: Callable[[], Any], label: str) -> None:
        self._factory = factory
        self._label = label
        self._target: Any = None

    def resolve(self) -> Any:
        if self._target is None:
            self._target = self._factory()
        return self._target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in {"_factory", "_label", "_target"}:
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() falls back on __class__
        return OnDemand if self._target is None else type(self._target)

    def __repr__(self) -> str:
        return f"OnDemand({self._label})"


def resolve_all(metadata: Mapping[str, Any]) -> None:
    """Build every :class:`OnDemand` among ``metadata``'s values."""
    for value in metadata.values():
        if type(value) is OnDemand:
            value.resolve()
