"""The constants every test shares: where things are, which day it is, which key and accounts.

The accounts are those of ``data_samples/accounts.json``, which the ``sandbox`` fixture serves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "data_samples"
SAMPLE_ACCOUNTS = SAMPLES / "accounts.json"
JOBS = ROOT / "jobs"
RUN_DATE = dt.date(2026, 11, 26)

# A test key shaped like a real one: tests grep every output and file for it.
KEY = "sk_test_51e2eSECRETkeyNEVERprinted0042"
PLATFORM = "acct_1PlatformAAAAAAA"  # the platform of the sample accounts (and the sandbox seed)
HEADER = "adjustment_id,account,amount,currency,method,description,metadata.invoice"

# Connected accounts of the sample seed (US, usd, balances in the thousands of dollars).
A = "acct_1ConnAA000000"  # custom
B = "acct_1ConnBA000001"  # express
C = "acct_1ConnCA000002"  # express
D = "acct_1ConnDA000003"  # express
SHORT = "acct_1ConnHA000007"  # express, 4,355.81 usd: a debit of 99,999.00 fails for balance
EUR = "acct_1ConnSA000016"  # express, settles in eur
JPY = "acct_1ConnXA000021"  # express, settles in jpy
