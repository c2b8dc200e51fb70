"""Constants and helpers the tests import (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
JOBS = ROOT / "jobs"
RUN_DATE = dt.date(2026, 11, 26)
