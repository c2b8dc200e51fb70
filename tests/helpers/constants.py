"""The constants every test shares: where things are, which day it is, which key and accounts.

The accounts are those of ``data_samples/accounts.json`` (a US platform, US accounts in USD), which
the ``sandbox`` fixture serves; other currencies come with the platforms of
``data_samples/accounts-eu.json`` (Germany: EUR, GBP, CHF) and ``accounts-jp.json`` (Japan: JPY).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "data_samples"
SAMPLE_ACCOUNTS = SAMPLES / "accounts.json"
SAMPLE_ACCOUNTS_EU = SAMPLES / "accounts-eu.json"
SAMPLE_ACCOUNTS_JP = SAMPLES / "accounts-jp.json"
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
STRIPE_LOSSES = "acct_1StripeLossesSSSS"  # express, but Stripe covers its losses

# The European platform (Germany) of accounts-eu.json, and some of its accounts.
EU_PLATFORM = "acct_1PlatformEUAAAAAA"
EUR = "acct_1ConnDEEUR0000000"  # custom, Germany, eur 50,000.00
EUR_FR = "acct_1ConnFREUR0000001"  # express, France, eur
GBP = "acct_1ConnGBGBP0000005"  # express, United Kingdom, gbp
CHF = "acct_1ConnCHCHF0000007"  # express, Switzerland, chf

# The Japanese platform of accounts-jp.json, and one of its accounts (jpy has no minor unit).
JP_PLATFORM = "acct_1PlatformJPAAAAAA"
JPY = "acct_1ConnJPJPY0000001"  # express, Japan, jpy 31,000,000
