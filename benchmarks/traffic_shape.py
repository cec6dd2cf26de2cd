"""When traffic comes (the shape of ``benchmarks/dashboard.py``: a daytime peak, quieter
weekends, growth over the period) and the visitor hashes it comes with."""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import date, timedelta

GROWTH = 0.5
WEEKEND = 0.7
HOUR_WEIGHTS = tuple(0.2 + max(0.0, 1 - abs(hour - 14) / 9) for hour in range(24))
HOUR = 3_600_000_000  # microseconds
DAY = 24 * HOUR
_MASK = (1 << 64) - 1
_HOUR_CUMULATIVE = tuple(itertools.accumulate(HOUR_WEIGHTS))


def visitor_hash(number: int, salt: int) -> str:
    """A 64-bit hash (16 hex characters) for person ``number`` under ``salt``: a bijection
    of the number for a given salt (multiply, xor-shift), so no two people share one."""
    value = (number * 0x9E3779B97F4A7C15 + salt) & _MASK
    value ^= value >> 31
    value = (value * 0xBF58476D1CE4E5B9) & _MASK
    return f"{value ^ (value >> 29):016x}"


def daily_salt(salt: int, day: int) -> int:
    """The salt of the ``day``-th day: salts rotate daily, so a visitor's hash too."""
    return (salt + day * 0xD1B54A32D192ED03) & _MASK


def mass(limit: int) -> float:
    """The hour weights' mass before ``limit`` microseconds into a day."""
    hour, part = divmod(min(limit, DAY), HOUR)
    before = _HOUR_CUMULATIVE[hour - 1] if hour else 0.0
    return before + (HOUR_WEIGHTS[hour] * part / HOUR if hour < 24 else 0.0)


def moment(rng: random.Random, mass: float) -> int:
    """Microseconds into a day, by the hour weights, within the first ``mass`` of them."""
    drawn = rng.random() * mass
    hour = min(bisect.bisect(_HOUR_CUMULATIVE, drawn), 23)
    before = _HOUR_CUMULATIVE[hour - 1] if hour else 0.0
    return hour * HOUR + min(int((drawn - before) / HOUR_WEIGHTS[hour] * HOUR), HOUR - 1)


def day_counts(rng: random.Random, total: int, first: date, days: int, last: float) -> list[int]:
    """``total`` events over ``days`` days from ``first``: growing by GROWTH over the
    period, weekends at WEEKEND; the last day counts for the fraction ``last``."""
    weights = []
    for day in range(days):
        weekend = (first + timedelta(days=day)).weekday() >= 5
        weights.append((1 + GROWTH * day / days) * (WEEKEND if weekend else 1.0))
    weights[-1] *= last
    scale = total / sum(weights)
    counts = [int(weight * scale) for weight in weights]
    open_days = [day for day in range(days) if weights[day] > 0]
    rng.shuffle(open_days)
    for extra in range(total - sum(counts)):
        counts[open_days[extra % len(open_days)]] += 1
    return counts
