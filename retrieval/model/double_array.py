"""A darts-clone double array: the trie of a sentencepiece precompiled charsmap."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None


def double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double array over ``keys`` (byte strings -> values < 2**31).

    The layout is the one sentencepiece's precompiled charsmap uses and ``tokenizers`` reads:
    each 32-bit unit holds a label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to
    its children (bits 10-31); a child with label ``c`` of a node whose children start at
    ``base`` sits at ``base ^ c``, and a key's value sits in a leaf unit (bit 31 set) at
    ``base ^ 0`` of the node where the key ends.
    """
    root = _TrieNode()
    for key, value in keys.items():
        if not key or 0 in key:
            raise ValueError(f"double-array keys must be non-empty and NUL-free: {key!r}")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value

    units = np.zeros(256, dtype=np.uint32)
    used = np.zeros(256, dtype=bool)  # slot holds a unit
    is_base = np.zeros(256, dtype=bool)  # slot is some node's children base
    used[0] = True  # the root
    lanes = np.arange(256)

    def grow(size: int) -> None:
        nonlocal units, used, is_base
        if size > len(units):
            extra = (size - len(units) + 255) // 256 * 256
            units = np.concatenate([units, np.zeros(extra, dtype=np.uint32)])
            used = np.concatenate([used, np.zeros(extra, dtype=bool)])
            is_base = np.concatenate([is_base, np.zeros(extra, dtype=bool)])

    def find_base(labels: list[int], first_block: int) -> int:
        # Children of base b sit at b ^ label, all inside b's 256-slot block: look block by
        # block for an offset whose slots are all free and that no other node uses as base.
        block = first_block
        while True:
            grow((block + 1) * 256)
            start = block * 256
            free = ~used[start : start + 256]
            fits = ~is_base[start : start + 256]
            for label in labels:
                fits &= free[lanes ^ label]
            if block == 0:
                fits[0] = False
            candidates = np.flatnonzero(fits)
            if candidates.size:
                return start + int(candidates[0])
            block += 1

    first_block = 0
    queue: deque[tuple[_TrieNode, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = sorted(node.children)
        if node.value is not None:
            labels.insert(0, 0)
        if not labels:
            continue
        while used[first_block * 256 : (first_block + 1) * 256].all():
            first_block += 1
        base = find_base(labels, first_block)
        offset = base ^ position
        if offset >= 1 << 21:
            raise ValueError("double array too large for plain offsets")
        is_base[base] = True
        units[position] |= offset << 10 | (1 << 8 if node.value is not None else 0)
        if node.value is not None:
            units[base] = 1 << 31 | node.value
            used[base] = True
        for label, child in sorted(node.children.items()):
            units[base ^ label] = label
            used[base ^ label] = True
            queue.append((child, base ^ label))
    return [int(unit) for unit in units]
