"""``--append-day``: generate the day after the newest ``load_date`` in the landing zone, consistent with it.

What it reads (and therefore needs):

* ``<truth>/_state/state.json`` — seed, scale, last generated day, daily-volume factors (written by every run)
* ``<truth>/customers.parquet`` — the population with its planted archetype / fraud / churn truth; every other
  hidden trait of a customer is a hash of (seed, customer id), so the population is rebuilt exactly
* ``<truth>/_state/pending/<source>.parquet`` — rows already decided for later days (ticket resolutions,
  returns, pending orders completing, opens/clicks, late rows, re-sends); those due on the new day are delivered
* the landing zone: the newest ``products`` catalogue (orders pick from it; on a Monday the next catalogue is
  derived from it) and the last 8 days of ``campaigns`` (sends still inside their 7-day window convert when the
  customer completes an order on the new day)

New ids are day-stamped (``O<yyyymmdd><seq>``, …), so they cannot collide with ids of earlier days. Random
streams are derived from ``(seed, source, day)`` exactly like a full run's. The truth files are updated
(new customers, new fraud transactions) and the state moves to the new day.
"""

import io
import time
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer360.catalog import CAMPAIGN_CHANNELS
from customer360.storage import open_store

from . import campaigns as camp
from . import reference as ref
from . import truth as truth_mod
from .customers import Profiles, customer_rows, email_lookup
from .emit import Emitter, Writer, nrows, take
from .engine import daily_counts
from .events import generate_events
from .fraud import fraud_bursts
from .generator import SOURCE_ORDER, SourceSummary, Summary, World, default_truth_dir
from .orders import generate_orders, order_rows
from .population import ARCHETYPES, FRAUD_RATE, NEW, S_FRAUD, Population, key_signup_day, signup_keys, signup_shape
from .products import Catalogue, next_catalogue, product_names
from .schema import Lookups, fmt
from .tickets import generate_tickets
from .transactions import generate_transactions
from .util import NO_DAY, STREAM, day_ordinal, hash_uniform, ordinal_date, rng_for, weekday


def _load_dates(store, source: str) -> list[str]:
    days = set()
    for obj in store.list(source):
        part = obj.key.split("/")[1] if obj.key.count("/") >= 2 else ""
        if part.startswith("load_date="):
            days.add(part.removeprefix("load_date="))
    return sorted(days)


def _ids_to_int(arr: pa.Array, prefix_len: int) -> np.ndarray:
    return np.asarray(pc.cast(pc.utf8_slice_codeunits(arr, prefix_len), pa.int64()).to_numpy(zero_copy_only=False))


def restore_population(seed: int, truth_dir: str) -> Population:
    t = truth_mod.read_table(truth_dir, truth_mod.CUSTOMERS)
    key = _ids_to_int(t.column("customer_id").combine_chunks(), 2)
    order = np.argsort(key, kind="stable")
    churn_col = t.column("churn_date").combine_chunks()
    churn = np.where(
        churn_col.is_null().to_numpy(zero_copy_only=False),
        NO_DAY,
        churn_col.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False),
    )
    arch_names = t.column("archetype").to_pylist()
    arch = np.array([ARCHETYPES.index(a) for a in arch_names], dtype=np.int8)
    fraud = t.column("is_fraudster").to_numpy(zero_copy_only=False).astype(bool)
    key = key[order]
    return Population(seed, key, key_signup_day(key), arch[order], fraud[order], churn[order].astype(np.int32))


def _read_parquet(store, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.read(key)))


def restore_catalogue(store, day_iso: str) -> Catalogue:
    keys = [o.key for o in store.list("products") if f"load_date={day_iso}/" in o.key and "/part-0" in o.key]
    t = pa.concat_tables([_read_parquet(store, k) for k in sorted(keys)])
    seq = _ids_to_int(t.column("product_id").combine_chunks(), 1)
    cat = np.array([ref.CATEGORIES.index(c) for c in t.column("category").to_pylist()], np.int16)
    sub = np.array([ref.SUBCATEGORIES.index(c) for c in t.column("subcategory").to_pylist()], np.int16)
    price = t.column("unit_price").to_numpy()
    active = t.column("is_active").to_numpy(zero_copy_only=False).astype(bool)
    o = np.argsort(seq)
    return Catalogue(seq[o], cat[o], sub[o], price[o], active[o], day_ordinal(date.fromisoformat(day_iso)))


def recent_sends(store, pop: Population, first: int, last: int) -> dict[str, np.ndarray]:
    """Latest landing row of each campaign send that arrived on days ``first..last`` (as a frame)."""
    tables = []
    for d in range(first, last + 1):
        iso = ordinal_date(d).isoformat()
        for obj in store.list(f"campaigns/load_date={iso}"):
            if "/part-0" in obj.key:
                t = _read_parquet(store, obj.key)
                tables.append(t.append_column("_load", pa.array(np.full(t.num_rows, d, np.int32))))
    if not tables:
        return {}
    t = pa.concat_tables(tables)
    cid = t.column("campaign_id").combine_chunks()
    campkey = _ids_to_int(pc.utf8_slice_codeunits(cid, 0, 12), 3)
    cust = _ids_to_int(t.column("customer_id").combine_chunks(), 2)

    def ts(c):
        column = pc.fill_null(t.column(c).combine_chunks().cast(pa.int64()), np.iinfo(np.int64).min)
        return np.asarray(column.to_numpy(zero_copy_only=False))

    chan = np.array([CAMPAIGN_CHANNELS.index(c) for c in t.column("channel").to_pylist()], np.int16)
    frame = {
        "campaign_id": campkey,
        "customer_id": cust,
        "campaign_name": campkey,
        "channel": chan,
        "sent_at": ts("sent_at"),
        "opened_at": ts("opened_at"),
        "clicked_at": ts("clicked_at"),
        "converted": t.column("converted").to_numpy(zero_copy_only=False).astype(bool),
        "_camp": campkey,
        "_pk": camp.send_pk(campkey, cust),
        "_ver": np.zeros(t.num_rows, np.int8),
        "_load": t.column("_load").to_numpy(),
        "_final": np.ones(t.num_rows, bool),
    }
    order = np.lexsort((frame["_load"], frame["_pk"]))
    frame = take(frame, order)
    pk = frame["_pk"]
    last_of = np.ones(len(pk), bool)
    last_of[:-1] = pk[1:] != pk[:-1]
    return take(frame, last_of)


def append_day(
    landing: str,
    truth: str | None = None,
    bad_files: int = 0,
    seed: int | None = None,
    progress: bool = False,
    threads: int = 2,
) -> Summary:
    """Write the day after the newest load_date of ``landing``; see the module docstring for what it reads."""
    t0 = time.perf_counter()
    store = open_store(landing)
    truth_dir = truth or default_truth_dir(landing)
    state = truth_mod.read_state(truth_dir)
    if seed is not None and seed != state.seed:
        raise ValueError(f"--seed {seed} differs from the seed {state.seed} the landing zone was generated with")
    seed = state.seed
    dates = sorted({d for s in SOURCE_ORDER for d in _load_dates(store, s)})
    if not dates:
        raise FileNotFoundError(f"landing zone {store.url} is empty: generate a dataset first")
    newest = dates[-1]
    if newest != state.end:
        raise ValueError(
            f"landing zone's newest load_date {newest} does not match the truth state's last day {state.end}"
        )
    day = day_ordinal(date.fromisoformat(newest)) + 1
    days = np.array([day], dtype=np.int64)

    # population: existing customers + today's sign-ups (archetype "new")
    pop = restore_population(seed, truth_dir)
    rng = rng_for(seed, STREAM["signups"], day)
    n_new = int(rng.poisson(state.k.get("signups", 0.0) * float(signup_shape(days)[0])))
    if n_new:
        new_keys = signup_keys(np.full(n_new, day))
        fraud_new = hash_uniform(seed, new_keys, S_FRAUD) < FRAUD_RATE * 1.5
        pop = Population(
            seed,
            np.concatenate([pop.key, new_keys]),
            np.concatenate([pop.signup, np.full(n_new, day, np.int32)]),
            np.concatenate([pop.archetype, np.full(n_new, NEW, np.int8)]),
            np.concatenate([pop.fraud, fraud_new]),
            np.concatenate([pop.churn, np.full(n_new, NO_DAY, np.int32)]),
        )
    prof = Profiles(pop)
    lookups = Lookups()
    lookups.arrays["email"] = email_lookup(pop, prof)

    # catalogue in effect (and today's, on a Monday)
    cat_days = _load_dates(store, "products")
    cat = restore_catalogue(store, cat_days[-1])
    new_cat = next_catalogue(seed, cat, day, state.base_products) if weekday(day) == 0 else None
    current = new_cat or cat
    lookups.keys["product_name"] = current.seq
    lookups.arrays["product_name"] = product_names(seed, current.seq, current.subcategory)

    world = World(seed, state.scale, pop, prof, lookups, state.k, state.pool, state.base_products)
    samplers = world.samplers()
    writer = Writer(store, lookups, threads=threads)
    emitters = {s: Emitter(s, writer, seed, day, late=(s != "products")) for s in SOURCE_ORDER}
    entities = dict.fromkeys(SOURCE_ORDER, 0)

    # rows decided earlier for today (or later)
    pending = {s: truth_mod.read_frame(truth_dir, f"_state/pending/{s}.parquet") for s in SOURCE_ORDER}
    if new_cat is not None:
        emitters["products"].add(new_cat.frame())
        entities["products"] = len(new_cat.seq)

    # campaigns sent today
    k = state.k
    sends = camp.generate_sends(seed, pop, days, daily_counts(k["campaigns"], pop, np.ones(pop.n), days, "campaigns"))
    if sends:
        intent = sends["_intent_day"] == day
        intents = (sends["_cidx"][intent], sends["_intent_day"][intent])
    else:
        intents = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    ob = generate_orders(
        seed,
        pop,
        days,
        daily_counts(k["orders"], pop, pop.w_order, days, "orders"),
        samplers["orders"],
        intents,
        current.available(),
    )
    entities["orders"] = len(ob.key)
    emitters["orders"].add(order_rows(pop, ob))
    bursts = fraud_bursts(seed, pop, days)
    tx = generate_transactions(
        seed,
        pop,
        days,
        daily_counts(k["transactions"], pop, pop.w_txn, days, "transactions"),
        samplers["transactions"],
        ob,
        bursts,
        world.pool,
    )
    entities["transactions"] = nrows(tx)
    emitters["transactions"].add(tx)
    ev = generate_events(
        seed, pop, days, daily_counts(k["events"], pop, pop.w_session, days, "events"), samplers["events"], bursts
    )
    entities["events"] = nrows(ev)
    emitters["events"].add(ev)
    tk = generate_tickets(
        seed,
        pop,
        days,
        daily_counts(k["support_tickets"], pop, pop.w_ticket, days, "support_tickets"),
        samplers["support_tickets"],
    )
    entities["support_tickets"] = int((tk["_ver"] == 0).sum())
    emitters["support_tickets"].add(tk)
    emitters["customers"].add(customer_rows(pop, prof, day, day, initial_export=False))
    entities["customers"] = int((pop.signup == day).sum())

    # conversions: today's completed orders convert today's sends and the open sends of the last 7 days
    done = ob.purchased
    completed_today = np.sort(ob.cidx[done] * 100_000 + ob.day[done])
    camp_keys = []
    if sends:
        conv = camp.conversion_day(sends, completed_today)
        rows = camp.send_rows(pop, sends, conv, day)
        emitters["campaigns"].add(rows)
        entities["campaigns"] = len(conv)
        camp_keys.append(rows["_camp"])
    recent = recent_sends(store, pop, day - camp.CONVERSION_WINDOW_DAYS - 1, day - 1)
    pend_c = pending.get("campaigns") or {}
    if recent:
        in_window = (recent["sent_at"] // 86_400_000_000) >= day - camp.CONVERSION_WINDOW_DAYS
        cand = take(recent, in_window & ~recent["converted"])
        cidx = np.searchsorted(pop.key, cand["customer_id"])
        bought = np.isin(cidx * 100_000 + day, completed_today)
        conv_rows = take(cand, bought)
        if nrows(conv_rows):
            conv_rows["converted"] = np.ones(nrows(conv_rows), bool)
            conv_rows["_ver"] = np.full(nrows(conv_rows), 9, np.int8)
            conv_rows["_load"] = np.full(nrows(conv_rows), day, np.int32)
            if pend_c:  # open/click rows already decided for the same sends carry the conversion from now on
                hit = np.isin(pend_c["_pk"], conv_rows["_pk"])
                pend_c["converted"] = pend_c["converted"] | hit
                due = hit & (pend_c["_load"] == day)  # a row due today already is the latest state
                conv_rows = take(conv_rows, ~np.isin(conv_rows["_pk"], pend_c["_pk"][due]))
            emitters["campaigns"].add(conv_rows)
            camp_keys.append(conv_rows["_camp"])
    if pend_c:
        camp_keys.append(pend_c["_camp"])
    for s in SOURCE_ORDER:
        if pending.get(s):
            emitters[s].add(pending[s], late=False)
    all_camp = np.unique(np.concatenate(camp_keys)) if camp_keys else np.zeros(0, np.int64)
    lookups.keys["campaign_name"] = all_camp
    lookups.arrays["campaign_name"] = camp.campaign_names(seed, all_camp)

    for em in emitters.values():
        em.flush(day)
    writer.close()

    # truth and state move to the new day
    old_fraud = truth_mod.read_table(truth_dir, truth_mod.FRAUD).column("transaction_id")
    new_fraud = np.unique(np.concatenate(emitters["transactions"].fraud_written or [np.zeros(0, np.int64)]))
    fraud_ids = (
        pa.concat_arrays([old_fraud.combine_chunks(), fmt("transaction")(new_fraud)])
        if len(new_fraud)
        else old_fraud.combine_chunks()
    )
    state.end = ordinal_date(day).isoformat()
    state.appended = [*state.appended, state.end]
    new_pending = {s: em.pending() for s, em in emitters.items()}
    truth_mod.write_truth(truth_dir, pop, np.zeros(0, np.int64), state, new_pending, samples={})
    truth_mod.write_bytes(
        truth_dir, truth_mod.FRAUD, truth_mod._pq(pa.table({"transaction_id": pc.unique(fraud_ids).sort()}))
    )

    summary = Summary(
        landing=store.url,
        truth=truth_dir,
        start_date=state.end,
        end_date=state.end,
        seed=seed,
        scale=state.scale,
        fraudsters=int(pop.fraud.sum()),
        churners=int((pop.churn <= day).sum()),
    )
    for s in SOURCE_ORDER:
        st = writer.stats.get(s)
        summary.sources[s] = SourceSummary(
            st.rows if st else 0, st.bytes if st else 0, st.files if st else 0, entities[s]
        )
    if bad_files:
        from .bad_files import write_bad_files

        existing = truth_mod.read_json(truth_dir, truth_mod.BAD_FILES) or []
        summary.bad_files = write_bad_files(
            seed,
            store,
            truth_dir,
            lookups,
            {s: em.sample for s, em in emitters.items()},
            bad_files,
            first_index=len(existing),
        )
    summary.seconds = time.perf_counter() - t0
    return summary
