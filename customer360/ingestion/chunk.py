"""A chunk of landing files as ONE conformed polars frame that still knows which file each row came from.

The loader checks and loads a chunk (many files, many days) with a fixed number of vectorised operations
instead of a handful per file: the parsed files are grouped by their physical schema, each group is
concatenated and conformed (:func:`~customer360.ingestion.contracts.conform`) once, and the groups become one
frame with two helper columns — the file's index in the chunk (``FILE_ID``) and its arrival day
(``ARRIVAL_DAY``) — on which the contract and foreign-key checks run once and report per file.

Conforming is decided by a file's schema alone (column names and type families), so a group whose schema
cannot be conformed fails for each of its files; those files are then conformed one by one so that every
violation (row counts, sample rows) describes its own file, exactly as if it had been checked alone.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from customer360.ingestion.contracts import ARRIVAL_DAY, FILE_ID, ContractError, Violation, conform, helper_columns


@dataclass
class ParsedFile:
    """One landing file of the chunk, parsed but not yet conformed."""

    key: str
    load_date: date
    frame: pl.DataFrame


@dataclass
class Chunk:
    """The conformed files of a chunk. File ``i`` is ``keys[i]`` / ``days[i]`` and its rows are the ``heights[i]``
    rows from ``offsets[i]`` of ``frame`` (catalog columns + ``FILE_ID`` + ``ARRIVAL_DAY``)."""

    frame: pl.DataFrame
    keys: list[str]
    days: list[date]
    offsets: list[int]
    heights: list[int]
    _rows: pl.DataFrame | None = field(default=None, repr=False)  # frame without the helper columns

    def __len__(self) -> int:
        return len(self.keys)

    def file_frame(self, i: int) -> pl.DataFrame:
        """File ``i``'s rows with the catalog columns only (a zero-copy slice)."""
        if self._rows is None:
            self._rows = self.frame.drop(FILE_ID, ARRIVAL_DAY)
        return self._rows.slice(self.offsets[i], self.heights[i])


def conform_chunk(source: str, files: list[ParsedFile]) -> tuple[Chunk | None, dict[int, list[Violation]]]:
    """Conform ``files`` as one chunk; return it and the ``columns``/``wrong_type`` violations per file index
    (into ``files``) of the files left out."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(files):
        groups[tuple(f.frame.schema.items())].append(i)
    rejected: dict[int, list[Violation]] = {}
    conformed: list[tuple[list[int], pl.DataFrame]] = []  # (file indexes, their conformed rows in order)
    for members in groups.values():
        frames = [files[i].frame for i in members]
        try:
            whole = pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]
            conformed.append((members, conform(source, whole)))
            continue
        except ContractError:
            pass
        for i in members:  # the schema does not conform: check each file alone, for its own numbers
            try:
                conformed.append(([i], conform(source, files[i].frame)))
            except ContractError as exc:
                rejected[i] = exc.violations
    if not conformed:
        return None, rejected
    order = [i for members, _ in conformed for i in members]
    heights = [files[i].frame.height for i in order]
    days = [files[i].load_date for i in order]
    frames = [df for _, df in conformed]
    data = pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]
    data = data.with_columns(helper_columns(days, heights))
    offsets = np.concatenate([[0], np.cumsum(heights)[:-1]]).astype(int).tolist()
    return Chunk(data, [files[i].key for i in order], days, offsets, heights), rejected
