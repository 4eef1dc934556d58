"""The dbt project as Dagster assets (``dbt_project/``).

Modules: ``project`` (DbtProject + paths, no dbt parse on import), ``translator`` (asset keys, groups, owners),
``assets`` (the two ``@dbt_assets`` factories), ``sources_yml`` (dbt sources + freshness from ``customer360.sla``),
``defs`` (what ``customer360/definitions.py`` merges). Import the submodule you need: this package imports nothing.
"""
