"""A bounded ring of the most recent device output, replayed to new clients."""

from __future__ import annotations

from collections import deque


class History:
    """Keeps the last ``capacity`` bytes appended; 0 keeps nothing.

    Appends cost O(1) amortised: chunks are kept as they came (the same
    bytes objects the sessions got) and only the oldest one is ever sliced.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Add device output, dropping the oldest bytes past the capacity."""
        if self.capacity <= 0 or not data:
            return
        if len(data) >= self.capacity:
            self._chunks.clear()
            self._chunks.append(data[-self.capacity:])
            self._size = self.capacity
            return
        self._chunks.append(data)
        self._size += len(data)
        excess = self._size - self.capacity
        while excess > 0:
            first = self._chunks[0]
            if len(first) <= excess:
                self._chunks.popleft()
                self._size -= len(first)
                excess -= len(first)
            else:
                self._chunks[0] = first[excess:]
                self._size -= excess
                excess = 0

    def snapshot(self) -> bytes:
        """Everything kept, oldest first."""
        return b"".join(self._chunks)

    def clear(self) -> None:
        self._chunks.clear()
        self._size = 0
