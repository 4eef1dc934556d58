"""The customer360 code location: one ``Definitions`` named ``defs``, assembled from the layers in
``customer360/defs/`` (each ``<layer>/definitions.py::defs``) and the transforms that need the whole location.

Loaded the same way by ``dg`` (``[tool.dg]`` in pyproject.toml), ``dagster api grpc -m customer360.definitions``,
workspace.yaml and ``from customer360.definitions import defs`` (the CLI, tests, benchmarks).

The layers are built as ``dg.load_from_defs_folder`` builds them (the project's component tree, from
``[tool.dg.project]``), without the part of its root that imports every installed component library
(dagster-snowflake, dagster-aws, ...) to publish their component types: the project declares no components, and
those imports would double the load time of the code location.
"""

import atexit
import gc
import warnings
from pathlib import Path

import dagster as dg

from customer360.automation import with_automation
from customer360.code_references import with_code_references
from customer360.consumers import with_consumer_checks
from customer360.settings import get_settings, settings_for_load

# What is loaded here lives as long as the process (modules, definitions): frozen, the garbage collector's full
# passes skip it. Without this they re-walk dagster's objects every few thousand allocations of the load below
# (≈ 1.3 s of a 4.2 s load, BENCHMARKS.md "Bookkeeping that costs little"). Acyclic garbage is still freed by reference counting.
gc.freeze()
# ...and thawed at exit, so the interpreter's last collection frees them as before (frozen at exit, DuckDB's
# bindings report every object of theirs still alive as a leak)
atexit.register(gc.unfreeze)

settings = get_settings()


def load_layers() -> dg.Definitions:
    """Every ``customer360/defs/<layer>/definitions.py::defs``, merged, with the component tree attached."""
    with warnings.catch_warnings():  # as load_from_defs_folder: its module loaders are in preview
        warnings.simplefilter("ignore", dg.PreviewWarning)
        tree = dg.ComponentTree.for_project(Path(__file__).parent)
        return dg.Definitions.merge(tree.build_defs(tree.defs_module_path), dg.Definitions(component_tree=tree))


with settings_for_load(settings):  # the environment is read once: every layer builds from these settings
    defs = load_layers()
    defs = with_code_references(defs, settings)  # "View code" on every asset, linked to the repository when known
    defs = with_automation(defs)  # orchestration + SLA freshness policies and automation conditions on every asset
    defs = with_consumer_checks(defs, settings)  # each consumer's node shows the failing checks of the marts it reads

gc.freeze()  # the definitions too: every later collection in the code server and run workers skips them
