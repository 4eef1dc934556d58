"""The dbt project as Dagster assets (``dbt_project/``).

Modules: ``project`` (the project's paths, no dbt parse on import), ``translator`` (dagster-dbt's translator: asset
keys, groups, owners), ``spec_cache`` (what the translator derives from the manifest, cached beside it), ``assets``
(the two dbt multi-assets, built from that cache), ``resource`` / ``dbt_cli`` (the ``dbt`` resource and the
dagster-dbt resource it runs in the step), ``sources_yml`` (dbt sources + freshness from ``customer360.sla``). Only
``translator``, ``dbt_cli`` and a stale ``spec_cache`` import dagster-dbt; the code location imports neither.
Import the submodule you need: this package imports nothing.
"""
