"""Orchestration: build the population and catalogue, then walk the window in weekly blocks, writing each
source's files as soon as their arrival day is complete (memory stays bounded by one block)."""

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from customer360.catalog import SOURCES
from customer360.storage import LocalStore, ObjectStore, open_store

from . import campaigns as camp
from . import truth as truth_mod
from .customers import Profiles, customer_rows, email_lookup
from .emit import Emitter, Writer, nrows
from .engine import Sampler, daily_counts, volume_scale
from .events import generate_events, mean_depth
from .fraud import fraud_bursts
from .orders import generate_orders, order_rows
from .population import Population, build_population
from .products import PRODUCT_FLOOR, Catalogue, initial_catalogue, next_catalogue, product_names
from .schema import Lookups
from .tickets import generate_tickets, ticket_factor
from .transactions import generate_transactions, merchant_pool
from .util import day_ordinal, ordinal_date, weekday

SOURCE_ORDER = ("customers", "orders", "transactions", "events", "products", "campaigns", "support_tickets")


def default_end_date() -> date:
    return (datetime.now(UTC) - timedelta(days=1)).date()


@dataclass
class GenerateConfig:
    """Arguments of a generator run (the CLI maps 1:1 onto these)."""

    landing: str = "data/landing"
    truth: str | None = None  # default: "truth" beside the landing zone
    scale: float = 1.0
    days: int = 365
    end_date: date | None = None  # default: yesterday (UTC)
    seed: int = 42
    bad_files: int = 0
    overwrite: bool = False  # replace an existing dataset in the landing zone (else refuse)
    progress: bool = False
    threads: int = 2

    def resolved_end(self) -> date:
        return self.end_date or default_end_date()

    def resolved_truth(self) -> str:
        return self.truth or default_truth_dir(self.landing)

    def validate(self) -> None:
        if not (0 < self.scale <= 50):
            raise ValueError(f"--scale must be in (0, 50], not {self.scale}")
        if not (1 <= self.days <= 3660):
            raise ValueError(f"--days must be in 1..3660, not {self.days}")
        if self.bad_files < 0:
            raise ValueError("--bad-files must be >= 0")
        check_truth_outside_landing(self.landing, self.resolved_truth())


def _norm(url: str) -> str:
    return url.rstrip("/") if url.startswith("s3://") else str(Path(url).resolve())


def check_truth_outside_landing(landing: str, truth: str) -> None:
    """The truth is hidden from ingestion: it must not live inside the landing zone (or be it)."""
    lp, tp = _norm(landing), _norm(truth)
    if tp == lp or tp.startswith(lp + "/"):
        raise ValueError(
            f"--truth {truth} must not be inside the landing zone {landing} (the truth is hidden from ingestion)"
        )


def default_truth_dir(landing: str) -> str:
    """``truth/`` beside the landing zone: ``data/landing`` → ``data/truth``; ``s3://b/p/landing`` → ``s3://b/p/truth``."""
    base = landing.rstrip("/")
    if base.startswith("s3://"):
        if "/" not in base.removeprefix("s3://"):
            raise ValueError(
                f"landing zone {landing} is a bucket root: pass --truth (e.g. s3://<bucket>-truth or a local folder)"
            )
        return base.rsplit("/", 1)[0] + "/truth"
    return str(Path(base).resolve().parent / "truth")


@dataclass
class SourceSummary:
    rows: int = 0
    bytes: int = 0
    files: int = 0
    entities: int = 0  # distinct primary keys generated (rows also count status updates, late copies, re-sends)


@dataclass
class Summary:
    landing: str
    truth: str
    start_date: str
    end_date: str
    seed: int
    scale: float
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    bad_files: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cpu_generate_s: float = 0.0  # CPU of the generating (main) thread
    cpu_write_s: float = 0.0  # CPU of encoding + writing files (writer threads, overlaps generation)
    fraudsters: int = 0
    churners: int = 0

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources.values())

    @property
    def total_bytes(self) -> int:
        return sum(s.bytes for s in self.sources.values())

    def table(self) -> str:
        lines = [f"{'source':<16}{'rows':>12}{'files':>8}{'MB':>10}"]
        for name in SOURCE_ORDER:
            s = self.sources.get(name, SourceSummary())
            lines.append(f"{name:<16}{s.rows:>12,}{s.files:>8,}{s.bytes / 1e6:>10.1f}")
        lines.append(
            f"{'total':<16}{self.total_rows:>12,}{sum(s.files for s in self.sources.values()):>8,}{self.total_bytes / 1e6:>10.1f}"
        )
        lines.append(
            f"window {self.start_date}..{self.end_date}  seed {self.seed}  scale {self.scale}  "
            f"{self.fraudsters:,} fraudsters  {self.churners:,} churners  bad files {len(self.bad_files)}  {self.seconds:.1f}s"
        )
        lines.append(f"landing: {self.landing}\ntruth:   {self.truth}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total_rows"], d["total_bytes"] = self.total_rows, self.total_bytes
        return d


def targets(scale: float) -> dict[str, float]:
    t = {name: s.design_rows * scale for name, s in SOURCES.items()}
    t["products"] = max(PRODUCT_FLOOR, round(SOURCES["products"].design_rows * scale))
    return t


def weekly_blocks(start: int, end: int) -> list[np.ndarray]:
    """Day ranges split at Mondays (the catalogue changes on Mondays, so each block sees one catalogue)."""
    days = np.arange(start, end + 1, dtype=np.int64)
    cuts = np.flatnonzero(weekday(days) == 0)
    cuts = cuts[cuts > 0]
    return [b for b in np.split(days, cuts) if len(b)]


class _Progress:
    def __init__(self, enabled: bool, total: int):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="day", desc="generating", leave=False)

    def update(self, n: int = 1, **post) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if post:
                self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _existing_dataset(store: ObjectStore) -> bool:
    return any(store.list(s) for s in SOURCE_ORDER)


def clear_landing(store: ObjectStore) -> None:
    """Delete the seven sources' files (only those) from the landing zone; local empty folders go too."""
    for s in SOURCE_ORDER:
        for obj in store.list(s):
            store.delete(obj.key)
        if isinstance(store, LocalStore) and (store.root / s).is_dir():
            for folder in sorted((store.root / s).glob("load_date=*"), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()


@dataclass
class World:
    """Everything a day of generation needs besides the RNG: shared by full runs and --append-day."""

    seed: int
    scale: float
    pop: Population
    profiles: Profiles
    lookups: Lookups
    k: dict[str, float]  # daily-volume factors per source
    pool: int  # merchant pool size
    base_products: int

    def samplers(self) -> dict[str, Sampler]:
        p = self.pop
        return {
            "orders": Sampler(p, p.w_order),
            "transactions": Sampler(p, p.w_txn),
            "events": Sampler(p, p.w_session),
            "support_tickets": Sampler(p, p.w_ticket, ticket_factor(p)),
        }


def generate(config: GenerateConfig) -> Summary:
    """Generate a fresh dataset: ``config.days`` days ending ``config.end_date`` into ``config.landing``,
    planted truth into ``config.truth``. Returns per-source row/byte counts."""
    config.validate()
    t0 = time.perf_counter()
    c0 = time.thread_time()
    end_d = config.resolved_end()
    end = day_ordinal(end_d)
    start = end - config.days + 1
    store = open_store(config.landing)
    truth_dir = config.resolved_truth()
    if _existing_dataset(store):
        if not config.overwrite:
            raise FileExistsError(
                f"landing zone {store.url} already holds source files: use --append-day to extend it, "
                "or --overwrite to replace it"
            )
        clear_landing(store)
    truth_mod.clear(truth_dir)

    tg = targets(config.scale)
    pop = build_population(config.seed, round(tg["customers"]), start, end)
    prof = Profiles(pop)
    lookups = Lookups()
    lookups.arrays["email"] = email_lookup(pop, prof)
    window = np.arange(start, end + 1, dtype=np.int64)

    # catalogue snapshots: the first day, then every Monday
    catalogues: list[Catalogue] = [initial_catalogue(config.seed, int(tg["products"]), start)]
    for d in window[1:]:
        if weekday(int(d)) == 0:
            catalogues.append(next_catalogue(config.seed, catalogues[-1], int(d), int(tg["products"])))
    last_cat = catalogues[-1]
    lookups.keys["product_name"] = last_cat.seq
    lookups.arrays["product_name"] = product_names(config.seed, last_cat.seq, last_cat.subcategory)

    # campaign sends for the whole window (small), their order intents
    k = {"campaigns": volume_scale(tg["campaigns"], pop, np.ones(pop.n), window, "campaigns")}
    sends = camp.generate_sends(
        config.seed, pop, window, daily_counts(k["campaigns"], pop, np.ones(pop.n), window, "campaigns")
    )
    intent_ok = (sends["_intent_day"] >= start) & (sends["_intent_day"] <= end)
    i_day, i_cidx = sends["_intent_day"][intent_ok], sends["_cidx"][intent_ok]
    o = np.argsort(i_day, kind="stable")
    i_day, i_cidx = i_day[o], i_cidx[o]
    camp_keys = np.unique(sends["_camp"])
    lookups.keys["campaign_name"] = camp_keys
    lookups.arrays["campaign_name"] = camp.campaign_names(config.seed, camp_keys)

    k["orders"] = volume_scale(max(tg["orders"] - len(i_day), 0), pop, pop.w_order, window, "orders")
    est_linked = tg["orders"] * 1.11
    est_fraud = pop.fraud.sum() * 3.0 * config.days / 365 * 11
    est_spree = 0.0012 * pop.n * 0.8 * config.days * 8
    k["transactions"] = volume_scale(
        max(tg["transactions"] - est_linked - est_fraud - est_spree, 0), pop, pop.w_txn, window, "transactions"
    )
    # sessions of churners in their precursor are shallower: ~2 % fewer events than the plain mean depth says
    k["events"] = volume_scale(
        tg["events"] / mean_depth(pop, pop.w_session) / 1.02, pop, pop.w_session, window, "events"
    )
    k["support_tickets"] = volume_scale(tg["support_tickets"], pop, pop.w_ticket, window, "support_tickets")
    k["signups"] = float((pop.signup >= start).sum()) / config.days
    world = World(config.seed, config.scale, pop, prof, lookups, k, merchant_pool(config.scale), int(tg["products"]))

    writer = Writer(store, lookups, threads=config.threads)
    emitters = {s: Emitter(s, writer, config.seed, end, late=(s != "products")) for s in SOURCE_ORDER}
    progress = _Progress(config.progress, config.days + 2)
    completed: list[np.ndarray] = []
    entities = dict.fromkeys(SOURCE_ORDER, 0)
    try:
        for cat in catalogues:
            emitters["products"].add(cat.frame())
        entities["products"] = len(last_cat.seq)
        samplers = world.samplers()
        cat_i = 0
        for block in weekly_blocks(start, end):
            while cat_i + 1 < len(catalogues) and catalogues[cat_i + 1].day <= block[0]:
                cat_i += 1
            avail = catalogues[cat_i].available()
            lo, hi = np.searchsorted(i_day, [block[0], block[-1] + 1])
            counts = daily_counts(k["orders"], pop, pop.w_order, block, "orders")
            ob = generate_orders(
                config.seed, pop, block, counts, samplers["orders"], (i_cidx[lo:hi], i_day[lo:hi]), avail
            )
            entities["orders"] += len(ob.key)
            done = ob.purchased
            completed.append(ob.cidx[done] * 100_000 + ob.day[done])
            emitters["orders"].add(order_rows(pop, ob))
            bursts = fraud_bursts(config.seed, pop, block)
            tx = generate_transactions(
                config.seed,
                pop,
                block,
                daily_counts(k["transactions"], pop, pop.w_txn, block, "transactions"),
                samplers["transactions"],
                ob,
                bursts,
                world.pool,
            )
            entities["transactions"] += nrows(tx)
            emitters["transactions"].add(tx)
            ev = generate_events(
                config.seed,
                pop,
                block,
                daily_counts(k["events"], pop, pop.w_session, block, "events"),
                samplers["events"],
                bursts,
            )
            entities["events"] += nrows(ev)
            emitters["events"].add(ev)
            tk = generate_tickets(
                config.seed,
                pop,
                block,
                daily_counts(k["support_tickets"], pop, pop.w_ticket, block, "support_tickets"),
                samplers["support_tickets"],
            )
            entities["support_tickets"] += int((tk["_ver"] == 0).sum())
            emitters["support_tickets"].add(tk)
            for em in emitters.values():
                if em.source not in ("campaigns", "customers"):
                    em.flush(int(block[-1]))
            progress.update(len(block), rows=f"{sum(s.rows for s in writer.stats.values()):,}")

        completed_keys = np.sort(np.concatenate(completed)) if completed else np.zeros(0, np.int64)
        conv = camp.conversion_day(sends, completed_keys)
        emitters["campaigns"].add(camp.send_rows(pop, sends, conv, end))
        entities["campaigns"] = len(conv)
        emitters["campaigns"].flush(end)
        progress.update(1)
        emitters["customers"].add(customer_rows(pop, prof, start, end, initial_export=True))
        entities["customers"] = int(pop.n)
        emitters["customers"].flush(end)
        progress.update(1)
        writer.close()
    finally:
        progress.close()

    pending = {s: em.pending() for s, em in emitters.items()}
    fraud_tx = np.unique(np.concatenate(emitters["transactions"].fraud_written or [np.zeros(0, np.int64)]))
    state = truth_mod.State(
        version=1,
        seed=config.seed,
        scale=config.scale,
        start=ordinal_date(start).isoformat(),
        end=ordinal_date(end).isoformat(),
        k=k,
        pool=world.pool,
        base_products=world.base_products,
    )
    truth_mod.write_truth(
        truth_dir, pop, fraud_tx, state, pending, samples={s: em.sample for s, em in emitters.items()}
    )

    summary = Summary(
        landing=store.url,
        truth=truth_dir,
        start_date=ordinal_date(start).isoformat(),
        end_date=end_d.isoformat(),
        seed=config.seed,
        scale=config.scale,
        fraudsters=int(pop.fraud.sum()),
        churners=int((pop.churn <= end).sum()),
    )
    for s in SOURCE_ORDER:
        st = writer.stats.get(s)
        summary.sources[s] = SourceSummary(
            st.rows if st else 0, st.bytes if st else 0, st.files if st else 0, entities[s]
        )
    if config.bad_files:
        from .bad_files import write_bad_files

        summary.bad_files = write_bad_files(
            config.seed, store, truth_dir, lookups, {s: em.sample for s, em in emitters.items()}, config.bad_files
        )
    summary.seconds = time.perf_counter() - t0
    summary.cpu_write_s = writer.cpu_s
    summary.cpu_generate_s = time.thread_time() - c0 - (writer.cpu_s if config.threads <= 1 else 0.0)
    return summary
