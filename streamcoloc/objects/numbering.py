"""Global object ids from per-block labels: union-find over boundary labels.

Block ``b`` (in C order of the block grid) labels its voxels ``1..n_b``
locally; local label ``l`` gets the provisional id ``offset_b + l`` with
``offset_b = n_0 + … + n_{b−1}``.  Only labels that reach a boundary plane
("face labels") can join labels of other blocks: their connected components
over the pairs found across faces (:mod:`.faces`) are the objects that span
blocks, and a face label's object is the component's smallest provisional id
(its *root*).  Every other ("interior") label is an object by itself.

Objects smaller than ``min_size`` voxels are removed; the kept objects are
numbered 1..N in order of their root's provisional id: by the first block
(in C order of the grid) they reach, then by the raster order of their first
voxel in that block.  So the numbering depends on the block grid (with one
block it is scipy's); the partition does not.

The driver holds only the face labels and their pairs (a block's surface,
not its volume).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class BlockScan:
    """What the first read learns about one block's local labels."""

    n_labels: int
    face_ids: np.ndarray  # sorted local ids of the labels on a boundary plane
    face_sizes: np.ndarray  # their voxel counts in this block
    kept_before: np.ndarray  # kept interior labels with a smaller local id, per face label
    n_kept_interior: int


@dataclass(frozen=True)
class BlockNumbering:
    """How one block's local labels become global ids (second read)."""

    first_id: int  # the block's new objects are first_id + 1, first_id + 2, ...
    face_ids: np.ndarray
    face_final: np.ndarray  # global id of each face label (0: removed)
    face_new: np.ndarray  # True where the face label is the root of a kept object


def scan_block(sizes: np.ndarray, face_ids: np.ndarray, min_size: int) -> BlockScan:
    """``sizes[l]`` voxels of local label ``l`` (index 0: background)."""
    kept_interior = sizes >= max(min_size, 1)
    kept_interior[0] = False
    kept_interior[face_ids] = False
    kept_until = np.cumsum(kept_interior)
    return BlockScan(sizes.size - 1, face_ids, sizes[face_ids], kept_until[face_ids - 1],
                     int(kept_until[-1]))


def number_objects(scans: list[BlockScan], pairs: list[tuple[int, int, np.ndarray]],
                   min_size: int) -> tuple[list[BlockNumbering], int]:
    """Per-block numberings and the number of objects, from the scans (block
    order) and the pairs ``(block i, block j, (P, 2) local labels)``."""
    n_labels = np.array([s.n_labels for s in scans], np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_labels)[:-1]])
    n_faces = np.array([s.face_ids.size for s in scans], np.int64)
    node_block = np.repeat(np.arange(len(scans)), n_faces)
    nodes = np.concatenate([offsets[b] + s.face_ids for b, s in enumerate(scans)] +
                           [np.zeros(0, np.int64)])  # ascending: blocks, then local ids
    sizes = np.concatenate([s.face_sizes for s in scans] + [np.zeros(0, np.int64)])
    kept_before = np.concatenate([s.kept_before for s in scans] + [np.zeros(0, np.int64)])

    component = _components(nodes, offsets, pairs)
    n_components = int(component.max()) + 1 if component.size else 0
    component_size = np.zeros(n_components, np.int64)
    np.add.at(component_size, component, sizes)
    kept = component_size >= min_size
    root = np.unique(component, return_index=True)[1]  # smallest node of each component
    new = (np.arange(nodes.size) == root[component]) & kept[component]

    n_new = np.array([s.n_kept_interior for s in scans], np.int64) + np.bincount(
        node_block[new], minlength=len(scans))
    first_id = np.concatenate([[0], np.cumsum(n_new)[:-1]])
    node_start = np.concatenate([[0], np.cumsum(n_faces)[:-1]])
    new_until = np.concatenate([[0], np.cumsum(new)])
    new_before = new_until[:-1] - new_until[node_start[node_block]]  # within the block
    root_id = first_id[node_block] + kept_before + new_before + 1
    final = np.where(kept[component], root_id[root[component]], 0)

    numberings = [BlockNumbering(int(first_id[b]), s.face_ids,
                                 final[node_start[b]:node_start[b] + n_faces[b]],
                                 new[node_start[b]:node_start[b] + n_faces[b]])
                  for b, s in enumerate(scans)]
    return numberings, int(n_new.sum())


def _components(nodes, offsets, pairs) -> np.ndarray:
    """Connected component of every face label over the pairs: what a
    union-find over the pairs computes, done by scipy's connected_components
    on the sparse pair graph (compiled, linear in labels + pairs)."""
    if not nodes.size:
        return np.zeros(0, np.int64)
    edges = [np.stack([offsets[i] + p[:, 0], offsets[j] + p[:, 1]], axis=1)
             for i, j, p in pairs if len(p)]
    edges = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    source, target = np.searchsorted(nodes, edges[:, 0]), np.searchsorted(nodes, edges[:, 1])
    graph = coo_matrix((np.ones(source.size, np.int8), (source, target)),
                       shape=(nodes.size, nodes.size))
    return connected_components(graph, directed=False)[1]


def lookup_table(sizes: np.ndarray, numbering: BlockNumbering, min_size: int,
                 dtype) -> np.ndarray:
    """``table[l]`` = global id of local label ``l`` (0: background or removed)."""
    new = sizes >= max(min_size, 1)
    new[0] = False
    new[numbering.face_ids] = numbering.face_new
    table = np.zeros(sizes.size, dtype)
    table[new] = numbering.first_id + np.cumsum(new)[new]
    table[numbering.face_ids] = numbering.face_final
    return table
