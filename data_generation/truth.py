"""The planted truth (never in the landing zone) and the generator's own state for ``--append-day``.

Truth files (for evaluating models honestly):

* ``customers.parquet`` — customer_id, is_fraudster, churn_date (null = never churned), archetype
* ``fraud_transactions.parquet`` — transaction_id of every fraudulent payment attempt that is in the landing zone
* ``bad_files.json`` — ``[{key, source, load_date, defect, detail, rows}]`` for each defective file

State (under ``_state/``, read only by ``--append-day``):

* ``state.json`` — seed, scale, window, daily-volume factors, merchant pool, catalogue base size
* ``pending/<source>.parquet`` — rows already generated whose arrival day is after the last day (ticket
  resolutions, returns, late rows, re-sends), delivered when their day is appended
"""

import io
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from customer360.storage import ObjectStore, open_store

from .population import ARCHETYPES, Population
from .schema import PARQUET_OPTIONS, fmt
from .util import NO_DAY

CUSTOMERS = "customers.parquet"
FRAUD = "fraud_transactions.parquet"
BAD_FILES = "bad_files.json"
STATE = "_state/state.json"


@dataclass
class State:
    version: int
    seed: int
    scale: float
    start: str
    end: str
    k: dict[str, float]
    pool: int
    base_products: int
    appended: list[str] = field(default_factory=list)


def _store(truth_dir: str) -> ObjectStore:
    return open_store(truth_dir)


def _pq(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **PARQUET_OPTIONS)
    return buf.getvalue()


def clear(truth_dir: str) -> None:
    store = _store(truth_dir)
    for obj in store.list():
        if obj.key in (CUSTOMERS, FRAUD, BAD_FILES) or obj.key.startswith("_state/"):
            store.delete(obj.key)


def customers_table(pop: Population) -> pa.Table:
    churn = pop.churn
    valid = churn != NO_DAY
    return pa.table(
        {
            "customer_id": fmt("customer")(pop.key),
            "is_fraudster": pa.array(pop.fraud, pa.bool_()),
            "churn_date": pa.array(np.where(valid, churn, 0).astype(np.int32), pa.date32(), mask=~valid),
            "archetype": pa.array(np.array(ARCHETYPES, dtype=object)[pop.archetype], pa.string()),
        }
    )


def frame_table(frame: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({k: pa.array(v) for k, v in frame.items()})


def write_truth(
    truth_dir: str, pop: Population, fraud_tx: np.ndarray, state: State, pending: dict, samples: dict
) -> None:
    store = _store(truth_dir)
    store.write(CUSTOMERS, _pq(customers_table(pop)))
    store.write(FRAUD, _pq(pa.table({"transaction_id": fmt("transaction")(np.sort(fraud_tx))})))
    if not store.exists(BAD_FILES):
        store.write(BAD_FILES, b"[]\n")
    store.write(STATE, json.dumps(asdict(state), indent=2, sort_keys=True).encode())
    for source, frame in pending.items():
        key = f"_state/pending/{source}.parquet"
        if frame:
            store.write(key, _pq(frame_table(frame)))
        elif store.exists(key):
            store.delete(key)
    for source, frame in samples.items():
        if frame:
            store.write(f"_state/samples/{source}.parquet", _pq(frame_table(frame)))


def read_state(truth_dir: str) -> State:
    store = _store(truth_dir)
    if not store.exists(STATE):
        raise FileNotFoundError(
            f"no generator state at {store.describe(STATE)}: --append-day needs the truth folder of the run that "
            "created the landing zone (pass the same --truth)"
        )
    return State(**json.loads(store.read(STATE)))


def read_frame(truth_dir: str, key: str) -> dict[str, np.ndarray]:
    store = _store(truth_dir)
    if not store.exists(key):
        return {}
    t = pq.read_table(io.BytesIO(store.read(key)))
    return {name: t.column(name).to_numpy() for name in t.column_names}


def read_table(truth_dir: str, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(_store(truth_dir).read(key)))


def write_bytes(truth_dir: str, key: str, data: bytes) -> None:
    _store(truth_dir).write(key, data)


def read_json(truth_dir: str, key: str):
    store = _store(truth_dir)
    return json.loads(store.read(key)) if store.exists(key) else None
