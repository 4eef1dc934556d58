"""The code location's definitions, one folder per layer, loaded by ``dg.load_from_defs_folder``
(``customer360/definitions.py``; ``[tool.dg]`` in pyproject.toml).

Every layer has one entry point, ``<layer>/definitions.py::defs`` (``@dg.definitions``), which builds the layer
from the environment's :class:`~customer360.settings.Settings` with the library code of its package
(``customer360/<layer>/``). A folder with a ``definitions.py`` is loaded only through that file.

- ``resources``: the ``warehouse`` and ``landing`` resources;
- ``ingestion``: the raw assets (with their quarantine checks) and the arrival sensors;
- ``transform``: the dbt assets (with their checks) and the ``dbt`` resource;
- ``ml``: the ML scoring assets;
- ``consumers``: the exposures, the compliance export, the retention alerts and the executive scorecard;
- ``automation``: the alert, freshness-check and automation sensors, the alert notifier, the in-process executor.

What depends on every asset (code references, freshness policies, automation conditions, jobs, schedules, the
checks of each consumer) is applied to the assembled location in ``customer360/definitions.py``.
"""
