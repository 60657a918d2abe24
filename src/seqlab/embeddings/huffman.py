"""The Huffman tree of hierarchical softmax (Morin & Bengio, 2005; Mikolov et al., 2013).

Each word is a leaf; the ``V - 1`` inner nodes each own an output vector. A word's probability is
the product of binary decisions along its path from the root,

    p(w | h) = prod_j sigma((1 - 2 d_j) u_{n_j} . h)     d_j: the j-th bit of w's code,

so the label of inner node ``n_j`` is ``1 - d_j`` (word2vec.c's ``1 - code``). Frequent words get
short codes, so the expected path length is about the entropy of the unigram distribution.
"""

from __future__ import annotations

import heapq

import torch


def huffman_paths(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Codes and inner-node paths of every word, padded to the deepest leaf.

    Args:
        counts: (V,) word counts, V >= 2.

    Returns:
        points (V, D) long: inner-node ids (0..V-2) from the root down;
        codes (V, D) float: the bit taken at each node;
        mask (V, D) float: 1 on the real part of each path.
    """
    V = len(counts)
    # heap of (count, tie-break order, node); leaves are 0..V-1, inner nodes V..2V-2
    heap = [(int(c), i, i) for i, c in enumerate(counts.tolist())]
    heapq.heapify(heap)
    parent = [0] * (2 * V - 1)
    bit = [0] * (2 * V - 1)
    for inner in range(V, 2 * V - 1):
        c1, _, n1 = heapq.heappop(heap)
        c2, _, n2 = heapq.heappop(heap)
        parent[n1], parent[n2] = inner, inner
        bit[n1], bit[n2] = 0, 1
        heapq.heappush(heap, (c1 + c2, inner, inner))
    root = 2 * V - 2
    codes, points = [], []
    for leaf in range(V):
        code, path, node = [], [], leaf
        while node != root:
            code.append(bit[node])
            node = parent[node]
            path.append(node - V)  # inner node id in 0..V-2
        codes.append(code[::-1])
        points.append(path[::-1])
    D = max(len(c) for c in codes)
    padded_points = torch.zeros(V, D, dtype=torch.long)
    padded_codes = torch.zeros(V, D)
    mask = torch.zeros(V, D)
    for w in range(V):
        n = len(codes[w])
        padded_points[w, :n] = torch.tensor(points[w])
        padded_codes[w, :n] = torch.tensor(codes[w], dtype=torch.float32)
        mask[w, :n] = 1.0
    return padded_points, padded_codes, mask
