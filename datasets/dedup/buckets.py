"""Bucketing 128-bit codes: exact matches, and Hamming-radius probing by multi-index hashing.

Exact: sort the codes (two uint64 words each) and cut runs of equal codes; no pairwise
comparison, so the cost grows like a sort (N log N in C; ~linear in practice).
Radius r (1 or 2): split the 128 bits into r + 1 chunks; two codes within Hamming distance
r agree exactly on at least one chunk (pigeonhole), so bucketing by each chunk and checking
the full distance inside those buckets finds every pair within r. Bits are dealt to the
chunks by firing rate so that each chunk carries a similar share of the code's entropy.
"""

from __future__ import annotations

import numpy as np

MAX_RADIUS = 2


def as_words(codes: np.ndarray) -> np.ndarray:
    """`(N, 16)` uint8 -> `(N, 2)` uint64 (big-endian words: order follows the bytes)."""
    return np.ascontiguousarray(codes).view(">u8").astype(np.uint64)


def unique_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes `(U, 16)` and, per image, the index of its code in them."""
    words = as_words(codes)
    order = np.lexsort((words[:, 1], words[:, 0]))
    sorted_words = words[order]
    new = np.ones(len(order), bool)
    new[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
    ids_sorted = np.cumsum(new) - 1
    inverse = np.empty(len(order), np.int64)
    inverse[order] = ids_sorted
    return np.asarray(codes)[order[new]], inverse


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance between `(M, 16)` uint8 code arrays."""
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=1, dtype=np.int64)


def _chunk_keys(codes: np.ndarray, chunks: int, rows: int = 1 << 18) -> list[np.ndarray]:
    """One uint64 key per code and chunk, bits dealt round-robin by firing rate.

    Codes are unpacked `rows` at a time (a byte per bit only for those), so the extra
    memory is the keys themselves: 8 bytes per code and chunk."""
    ones = np.zeros(codes.shape[1] * 8, np.int64)
    for start in range(0, len(codes), rows):
        ones += np.unpackbits(codes[start:start + rows], axis=1).sum(axis=0, dtype=np.int64)
    balance = np.abs(ones / max(len(codes), 1) - 0.5)  # most informative bits first
    order = np.argsort(balance, kind="stable")
    keys = [np.zeros(len(codes), np.uint64) for _ in range(chunks)]
    for start in range(0, len(codes), rows):
        bits = np.unpackbits(codes[start:start + rows], axis=1)
        for c in range(chunks):
            packed = np.packbits(bits[:, order[c::chunks]], axis=1)
            padded = np.zeros((len(bits), 8), np.uint8)
            padded[:, :packed.shape[1]] = packed
            keys[c][start:start + len(bits)] = padded.view(">u8").ravel()
    return keys


def _pairs_in_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i, j), i != j, of items sharing a key, without a Python loop per run."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    same = np.flatnonzero(k[1:] == k[:-1])  # positions p where k[p] == k[p+1]
    left, right = [], []
    offset = 1
    active = same
    while len(active):
        left.append(order[active])
        right.append(order[active + offset])
        # extend by one more step where the run continues
        nxt = active + offset + 1
        ok = nxt < len(k)
        active = active[ok]
        nxt = nxt[ok]
        active = active[k[nxt] == k[active]]
        offset += 1
    if not left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(left), np.concatenate(right)


def near_pairs(codes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows of distinct `codes` `(U, 16)` within Hamming distance `radius` (>= 1)."""
    if not 1 <= radius <= MAX_RADIUS:
        raise ValueError(f"radius must be 0 to {MAX_RADIUS}, got {radius}")
    if len(codes) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    found_i, found_j = [], []
    for keys in _chunk_keys(codes, radius + 1):
        i, j = _pairs_in_runs(keys)
        close = hamming(codes[i], codes[j]) <= radius
        found_i.append(i[close])
        found_j.append(j[close])
    i, j = np.concatenate(found_i), np.concatenate(found_j)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    pairs = np.unique(np.stack([lo, hi], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def candidate_groups(codes: np.ndarray, radius: int = 0,
                     variants: np.ndarray | None = None) -> list[np.ndarray]:
    """Groups of image indices (ascending, 2+ members) whose codes are equal or, with
    `radius` > 0, joined by a chain of codes within that Hamming distance.

    `variants` `(N, V, 16)`: more codes per image (its alignment probes); two images are
    linked when any code of one meets any code of the other."""
    if len(codes) == 0:
        return []
    n = len(codes)
    probes = variants is not None and variants.shape[1] > 0
    if probes:
        codes = np.concatenate([codes, np.asarray(variants).reshape(-1, codes.shape[1])])
    distinct, inverse = unique_codes(codes)
    if radius > 0:
        i, j = near_pairs(distinct, radius)
        inverse = _components(len(distinct), i, j)[inverse]
    if not probes:
        return groups_of(inverse)
    # Row r of the stacked codes belongs to image r (code) or (r - n) // V (a probe);
    # images sharing any code label are linked: components of the image-label graph.
    owner = np.concatenate([np.arange(n), np.repeat(np.arange(n), variants.shape[1])])
    label = _components(n + int(inverse.max()) + 1, owner, n + inverse)
    return groups_of(label[:n])


def _components(count: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label of each of `count` nodes linked by edges (i, j)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(count, count))
    return connected_components(graph, directed=False)[1]


def groups_of(labels: np.ndarray) -> list[np.ndarray]:
    """Indices sharing a label, as ascending arrays, for labels held by 2+ indices;
    ordered by their first (smallest) index."""
    order = np.argsort(labels, kind="stable")  # stable: indices ascend inside a label
    sorted_labels = labels[order]
    cuts = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(labels)]])
    groups = [order[starts[m]:ends[m]] for m in np.flatnonzero(ends - starts > 1)]
    groups.sort(key=lambda g: int(g[0]))
    return groups
