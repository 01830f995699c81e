"""The shape every statistic has: chunk → combine → finalize."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from .regions import ChunkRegions


class Statistic(NamedTuple):
    """A mergeable statistic, as flox's chunk/combine/aggregate triples.

    chunk(channels, regions) -> record
        ``channels`` are the chunk's channel blocks shaped (slices, voxels).
    combine(records) -> record
        Associative merge; deterministic for a given order of records.
    finalize(record) -> result
    by_region
        True when a chunk's record is the union of its regions' records
        (each region's from its own runs alone, merged by region id): the
        engine may then split a block's regions among several tasks.  A
        decision a chunk takes for all its regions at once must then be
        taken again by ``combine`` on the merged record, the same whatever
        the split (as the histograms' choice of joint or marginal tables).
    """

    name: str
    chunk: Callable[[list[np.ndarray], ChunkRegions], Any]
    combine: Callable[[list[Any]], Any]
    finalize: Callable[[Any], Any]
    by_region: bool = False
