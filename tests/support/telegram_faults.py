"""Telegram on a bad day, as the fake Bot API plays it: a method's next calls failing with a
status (429 with retry_after, 5xx), a 5xx spell on everything the bot sends, random faults."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass


@dataclass
class Fault:
    status: int
    retry_after: int | None = None


class InjectedFaults:
    """What :class:`tests.support.fake_bot_api.FakeBotApi` answers instead of doing a call."""

    def __init__(self) -> None:
        self._fault_lock = threading.Lock()
        self._scheduled: dict[str, list[Fault]] = {}
        self._outage_until = 0.0  # monotonic time: until then every sending call gets a 502
        self._random_faults: tuple[float, random.Random] | None = None
        self.faults_injected = 0  # calls answered with an injected 429 or 5xx

    def fail(
        self, method: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` (and do nothing)."""
        with self._fault_lock:
            self._scheduled.setdefault(method, []).extend([Fault(status, retry_after)] * times)

    def outage(self, seconds: float) -> None:
        """For the next ``seconds`` every call but getting updates fails with 502 (Telegram's
        5xx spell): nothing the bot sends arrives meanwhile."""
        with self._fault_lock:
            self._outage_until = time.monotonic() + seconds

    def random_faults(self, rate: float, seed: int = 7) -> None:
        """From now on each sending call fails with this chance: half 429 (retry after 1 s),
        half 502 — Telegram on a bad day."""
        with self._fault_lock:
            self._random_faults = (rate, random.Random(seed))

    def fault_for(self, method: str, *, sends: bool) -> Fault | None:
        """The fault this call of ``method`` meets, if any: a scheduled one first, then (for
        calls that send) the outage or chance."""
        with self._fault_lock:
            scheduled = self._scheduled.get(method)
            fault = scheduled.pop(0) if scheduled else None
            if fault is None and sends:
                fault = self._chance_fault()
            if fault is not None:
                self.faults_injected += 1
            return fault

    def _chance_fault(self) -> Fault | None:
        if time.monotonic() < self._outage_until:
            return Fault(502)
        if self._random_faults is None:
            return None
        rate, chance = self._random_faults
        draw = chance.random()
        if draw >= rate:
            return None
        return Fault(429, retry_after=1) if draw < rate / 2 else Fault(502)
