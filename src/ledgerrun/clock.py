"""Time, injected: the runner asks a Clock, so tests can run hours of back-off in no time.

The run date every command defaults to is decided here, once: today on the injected clock, in
the job's time zone (``[job] timezone``, an IANA name such as ``Europe/Berlin``; by default the
host's zone). A nightly job at 00:30 in Berlin is still "today" there, not yesterday in UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import zoneinfo
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def iso(moment: dt.datetime | None) -> str:
    """``2026-11-26T02:14:07Z`` (UTC, whole seconds), or '' for None."""
    if moment is None:
        return ""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the run date -----------------------------------------------------------------------------


def valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def host_zone() -> str:
    """The host's time zone as an IANA name (``TZ``, else ``/etc/localtime``'s target, else
    ``/etc/timezone``), or ``UTC`` when the host does not say."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and valid_zone(name):
            return name
    return "UTC"


def today(clock: Clock, zone: str) -> dt.date:
    """The date it is now on ``clock`` in the time zone ``zone``: every command's default run
    date."""
    return clock.now().astimezone(zoneinfo.ZoneInfo(zone)).date()


def local_date(moment: dt.datetime, zone: str) -> dt.date:
    """The date of ``moment`` in the time zone ``zone`` (when an object Stripe made was made,
    as the job's calendar counts it)."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()
