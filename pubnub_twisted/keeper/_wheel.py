"""A timing wheel: members spread over the slots of one heartbeat interval.

One timer turns the wheel a slot at a time; each member sits in one slot and
is due when the wheel passes it, so the whole interval costs one pending
timer, not one per member.  A member goes into the least loaded slot (its
load is the number of requests its heartbeat takes), the one the wheel will
reach last among equals, so however members arrive (all at once or one by
one) every slot carries about the same number of requests, and a member's
first regular heartbeat comes about an interval after the one it sent on
entering.  When members leave, :meth:`remove` moves a member from the
fullest slot into the gap if that only brings its heartbeat forward.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Wheel"]

T = TypeVar("T")


class Wheel(Generic[T]):
    """``slots`` slots in a ring; :attr:`cursor` is the slot passed last."""

    def __init__(self, slots: int) -> None:
        self.cursor = 0
        self._loads = [0] * slots
        self._members: list[dict[T, int]] = [{} for _ in range(slots)]

    def __len__(self) -> int:
        return len(self._loads)

    def loads(self) -> list[int]:
        """Requests per slot, from slot 0."""
        return list(self._loads)

    def place(self, member: T, weight: int) -> int:
        """Put ``member`` (``weight`` requests) in the least loaded slot; return it."""
        loads = self._loads
        count = len(loads)
        least = min(loads)
        # The slot just passed comes round last: search backwards from it.
        slot = next(
            index for step in range(count) if loads[index := (self.cursor - step) % count] == least
        )
        self._members[slot][member] = weight
        loads[slot] += weight
        return slot

    def reweigh(self, member: T, slot: int, weight: int) -> None:
        """``member``'s heartbeat now takes ``weight`` requests."""
        members = self._members[slot]
        self._loads[slot] += weight - members[member]
        members[member] = weight

    def remove(self, member: T, slot: int) -> tuple[T, int] | None:
        """Take ``member`` out; may move another into the gap: returns it and its new slot."""
        weight = self._members[slot].pop(member)
        self._loads[slot] -= weight
        loads = self._loads
        fullest = max(range(len(loads)), key=loads.__getitem__)
        if loads[fullest] <= loads[slot] + 1:
            return None
        # Only forward in time: the gap must come round before the fullest slot.
        if self._ahead(slot) >= self._ahead(fullest):
            return None
        for candidate, candidate_weight in self._members[fullest].items():
            if candidate_weight == 1:
                del self._members[fullest][candidate]
                loads[fullest] -= 1
                self._members[slot][candidate] = 1
                loads[slot] += 1
                return candidate, slot
        return None

    def _ahead(self, slot: int) -> int:
        """How many turns until the wheel passes ``slot`` (1 for the next one)."""
        return (slot - self.cursor - 1) % len(self._loads) + 1

    def turn(self) -> list[T]:
        """Move to the next slot; return its members (they are due)."""
        self.cursor = (self.cursor + 1) % len(self._loads)
        return list(self._members[self.cursor])
