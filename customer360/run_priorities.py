"""Run priorities: which queued run the one warehouse writer takes next (tag ``dagster/priority``).

The QueuedRunCoordinator dequeues higher priorities first (then oldest first), and a step waiting for a slot of
the ``warehouse`` pool is granted it by the same run priority. Runs that carry no tag have priority 0: that is
every run a person launches — a manual materialization in the UI, ``dagster asset materialize``, a backfill
(its runs inherit the backfill's tags) — so the user's work is ranked first without anyone having to tag it.
The machines' runs rank below it:

* :data:`ARRIVAL_RUN_PRIORITY` — loads requested by the arrival sensors (``customer360.ingestion.sensors``);
* :data:`REBUILD_RUN_PRIORITY` — runs of the automation sensor and of the schedules: below the loads, so a rebuild
  that waited in the queue sees every day that landed meanwhile.

So queued arrival loads never starve a user's backfill, and queued rebuilds never starve the loads.
"""

PRIORITY_TAG = "dagster/priority"  # the documented run tag the queue and the pools order by
USER_RUN_PRIORITY = 0  # Dagster's default for untagged runs: manual materializations, backfills
ARRIVAL_RUN_PRIORITY = -1
REBUILD_RUN_PRIORITY = -2
