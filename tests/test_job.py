"""Job files: templating, relative paths, defaults and precise errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from pathlib import Path

import pytest

from ledgerrun.errors import ConfigError
from ledgerrun.job import NAME_RE
from ledgerrun.jobfile import load_target, name_from_stem
from tests.helpers.constants import JOBS, ROOT, RUN_DATE

MINIMAL = '[job]\nname = "nightly"\nledger = "../inbox/adj-{date}.csv"\n'


def test_paths_are_relative_to_the_job_file_and_templated(write) -> None:
    path = write(
        "jobs/n.toml",
        MINIMAL
        + 'results = "../out/{job}-{date}.results.parquet"\njournal = "../state/{job}.sqlite"\n',
    )
    job = load_target(path, RUN_DATE)
    top = path.parent.parent.resolve()
    assert job.ledger == top / "inbox/adj-2026-11-26.csv"
    assert job.results == top / "out/nightly-2026-11-26.results.parquet"
    assert job.journal == top / "state/nightly.sqlite"
    assert job.method == "transfer" and job.on_invalid == "abort" and job.preflight is True
    assert job.stripe.rate_limit is None and job.stripe.concurrency == 8  # "auto"


def test_defaults_when_results_and_journal_are_not_given(write, own_state_home) -> None:
    job = load_target(write("j.toml", MINIMAL), RUN_DATE)
    assert job.results.name == "nightly-2026-11-26.results.csv"
    assert job.journal == own_state_home / "ledgerrun" / "journal.sqlite"
    assert (job.direction, job.id_prefix, job.guard_days, job.approval) == ("debit", "", 90, "none")
    assert job.stripe.transfer_group == "ledgerrun"


def test_full_job_file_is_read(write) -> None:
    text = MINIMAL + (
        'method = "charge"\non_invalid = "skip"\npreflight = false\nsheet = "Adjustments"\n'
        '[columns]\naccount = "Connected account"\n"metadata.invoice" = "Invoice #"\n'
        '[limits]\nmax_amount = { usd = "5000.00", JPY = 100000 }\n'
        'max_total = { usd = "1,000,000" }\n'
        '[stripe]\napi_key_env = "MY_KEY"\napi_base = "http://127.0.0.1:12111"\n'
        'sandbox = "accounts.json"\nrate_limit = 100\nconcurrency = 3\ntimeout_s = 5\n'
    )
    job = load_target(write("j.toml", text), RUN_DATE)
    assert job.method == "charge" and job.on_invalid == "skip" and job.preflight is False
    assert job.sheet == "Adjustments"
    assert job.columns == {"account": "Connected account", "metadata.invoice": "Invoice #"}
    assert job.limits.max_amount == {"usd": 500000, "jpy": 100000}
    assert job.limits.max_total == {"usd": 100000000}
    assert job.stripe.api_key_env == "MY_KEY" and job.stripe.concurrency == 3
    assert job.stripe.rate_limit == 100.0 and job.stripe.timeout_s == 5.0
    assert job.stripe.sandbox is not None and job.stripe.sandbox.name == "accounts.json"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[job]\nledger = "x.csv"\n', "'job.name' is required"),
        ('[job]\nname = "Bad Name"\nledger = "x.csv"\n', "'job.name' must be"),
        (MINIMAL + "colour = 1\n", "unknown key 'job.colour'"),
        (MINIMAL + "[stripe]\nratelimit = 5\n", "did you mean 'stripe.rate_limit'"),
        (MINIMAL + '[stripe]\nconcurrency = "8"\n', "'stripe.concurrency' must be a whole number"),
        (
            MINIMAL + "[stripe]\nrate_limit = true\n",
            "'stripe.rate_limit' must be \"auto\" or a number",
        ),
        (MINIMAL + "preflight = 1\n", "'job.preflight' must be true or false"),
        (MINIMAL + 'method = "wire"\n', "'job.method' must be 'transfer' or 'charge'"),
        (MINIMAL + 'on_invalid = "ignore"\n', "'job.on_invalid' must be 'abort' or 'skip'"),
        (MINIMAL + 'results = "out.txt"\n', "'job.results' must end in .csv, .xlsx or .parquet"),
        (MINIMAL + 'direction = "refund"\n', "'job.direction' must be 'debit' or 'credit'"),
        (MINIMAL + 'id_prefix = "Team A"\n', "'job.id_prefix' must be up to 40"),
        (MINIMAL + "guard_days = 0\n", "'job.guard_days' must be between 1 and 3650"),
        (MINIMAL + 'approval = "maybe"\n', "'job.approval' must be 'none' or 'required'"),
        (MINIMAL + "[stripe]\ntimeout_s = inf\n", "'stripe.timeout_s' must be above 0"),
        (MINIMAL + "[stripe]\ntimeout_s = 1e300\n", "at most 600 seconds"),
        (
            MINIMAL + "[stripe]\nrate_limit = nan\n",
            "'stripe.rate_limit' must be \"auto\", or above 0",
        ),
        (MINIMAL + '[stripe]\ntransfer_group = "a b"\n', "'stripe.transfer_group' must be"),
        (MINIMAL.replace("adj-{date}.csv", "in{put.csv"), "'job.ledger' is not a valid path"),
        (MINIMAL.replace("adj-{date}.csv", "{date:%Y}.csv"), "only {date} and {job} exist"),
        (MINIMAL + "[limits]\nmax_amount = { usd = 5000.00 }\n", "written in quotes"),
        (MINIMAL + '[limits]\nmax_amount = { usd = "50.005" }\n', "limits.max_amount.usd"),
        (MINIMAL + '[limits]\nmax_amount = { usx = "5" }\n', "not an ISO 4217"),
        (MINIMAL + '[limits]\nmax_sum = { usd = "5" }\n', "unknown key 'limits.max_sum'"),
        (MINIMAL + '[columns]\naccnt = "A"\n', "unknown key 'columns.accnt'"),
        (MINIMAL + '[columns]\naccount = "A"\ncurrency = "A"\n', "more than one column"),
        (MINIMAL + '[stripe]\napi_base = "127.0.0.1:1"\n', "'stripe.api_base' must be"),
        (MINIMAL + "[stripe]\nconcurrency = 0\n", "between 1 and 64"),
        ('[job]\nname = "n"\nledger = "{month}.csv"\n', "only {date} and {job}"),
        ("[job\n", "not valid TOML"),
        (MINIMAL + "[extra]\n", "unknown key 'extra'"),
    ],
)
def test_bad_job_files_name_the_key(write, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_target(write("j.toml", text), RUN_DATE)
    assert needle in str(info.value)


def test_missing_job_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="job file not found"):
        load_target(tmp_path / "nope.toml", RUN_DATE)


def test_a_ledger_target_runs_with_defaults_beside_it(write) -> None:
    path = write("in/Adjustments Nov 2026.csv", "adjustment_id\n")
    job = load_target(path, RUN_DATE)
    assert job.name == "adjustments-nov-2026"  # as version 2 named it
    assert job.ledger == path.resolve()
    assert job.results.parent == path.parent.resolve()
    assert job.source is None
    named = load_target(path, RUN_DATE, job_name="finance")
    assert named.name == "finance" and named.journal.name == "journal.sqlite"
    renamed = write("elsewhere/Copy of Adjustments.csv", "adjustment_id\n")
    # A renamed or copied ledger uses the very same per-user journal: never a fresh one.
    assert load_target(renamed, RUN_DATE).journal == named.journal


def test_job_name_option_must_agree_with_the_job_file(write) -> None:
    with pytest.raises(ConfigError, match="contradicts"):
        load_target(write("j.toml", MINIMAL), RUN_DATE, job_name="other")


def sha8(stem: str) -> str:
    return hashlib.sha256(stem.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        # a file name that is a job name already keeps it
        ("nightly", "nightly"),
        ("___", "___"),
        ("adjustments-2026-11", "adjustments-2026-11"),
        ("a" * 40, "a" * 40),
        # an ASCII name that slugs within 40 characters keeps today's name (case, spaces and
        # punctuation become the slug's); a name that loses more gets 8 hex digits of the
        # name's SHA-256, within 40 characters
        ("Nov 2026!", "nov-2026"),
        ("Adjustments 2026-11", "adjustments-2026-11"),
        ("!!!", "ledger-" + sha8("!!!")),
        ("€€€", "ledger-" + sha8("€€€")),
        ("ÄÖÜ", "ledger-" + sha8("ÄÖÜ")),
        ("財務", "ledger-" + sha8("財務")),
        ("A" * 60, "a" * 31 + "-" + sha8("A" * 60)),
        ("a" * 41, "a" * 31 + "-" + sha8("a" * 41)),
        ("Q4 - " + "x" * 40, "q4---" + "x" * 26 + "-" + sha8("Q4 - " + "x" * 40)),
    ],
)
def test_names_made_from_file_names_are_valid(stem: str, name: str) -> None:
    made = name_from_stem(stem)
    assert made == name and NAME_RE.fullmatch(made)


def test_the_names_docs_show_are_the_names_made() -> None:
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    for stem, name in [
        ("adjustments", "adjustments"),
        ("Adjustments Nov", "adjustments-nov"),
        ("財務", "ledger-77a03115"),
    ]:
        assert f"`{stem}.csv`" in text and f"`{name}`" in text
        assert name_from_stem(stem) == name


def test_file_names_that_slugging_loses_never_share_a_job_name() -> None:
    """Names whose slug loses something (another script, the characters past 40, all of it)
    stay apart; the same name written in NFC or NFD is one file name. (ASCII names that slug
    alike, ``Nov 2026`` and ``nov-2026``, keep the name they always had, as the spec asks.)"""
    stems = [
        "ÄÖÜ", "財務", "€€€", "ledger", "nov_2026", "x" * 40, "x" * 41, "x" * 42, "X" * 43,
        "財務 (copy)", "財務 copy", "!!!", "???", "Überträge", "Ubertrage",
    ]  # fmt: skip
    names = [name_from_stem(s) for s in stems]
    assert len(set(names)) == len(stems), names
    composed = unicodedata.normalize("NFC", "Überträge")
    assert name_from_stem(composed) == name_from_stem(unicodedata.normalize("NFD", composed))


def test_replace_overrides_job_and_stripe_settings(write) -> None:
    job = load_target(write("j.toml", MINIMAL), RUN_DATE)
    changed = job.replace(concurrency=2, api_base="http://127.0.0.1:9", on_invalid="skip")
    assert changed.stripe.concurrency == 2 and changed.stripe.api_base == "http://127.0.0.1:9"
    assert changed.on_invalid == "skip" and job.on_invalid == "abort"


@pytest.mark.parametrize("name", sorted(p.name for p in JOBS.glob("*.toml")))
def test_shipped_job_files_load(name: str) -> None:
    job = load_target(JOBS / name, dt.date(2026, 11, 26))
    assert job.name


def test_a_job_file_saved_with_a_bom_is_read(write) -> None:
    job = load_target(write("bom.toml", "\ufeff" + MINIMAL), RUN_DATE)
    assert job.name == "nightly"


def test_a_consent_registry_is_resolved_beside_the_job(write) -> None:
    job = load_target(write("jobs/j.toml", MINIMAL + '[consent]\nregistry = "c.csv"\n'), RUN_DATE)
    assert job.consent_registry is not None and job.consent_registry.name == "c.csv"
    assert job.consent_registry.parent.name == "jobs"


# --- the run date: today on the injected clock, in the job's time zone ----------------------


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Europe/Berlin", "2026-11-27"), ("America/New_York", "2026-11-26"), ("UTC", "2026-11-26")],
)
def test_the_default_run_date_is_today_in_the_jobs_time_zone(write, zone: str, day: str) -> None:
    from tests.helpers.fakes import FakeClock

    clock = FakeClock(dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC))  # 00:30 in Berlin
    job = load_target(write("z.toml", MINIMAL + f'timezone = "{zone}"\n'), clock=clock)
    assert job.run_date.isoformat() == day and job.timezone == zone
    assert job.ledger_file().name == f"adj-{day}.csv"


def test_without_a_time_zone_the_hosts_is_used_for_jobs_and_bare_ledgers(
    write, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers.fakes import FakeClock

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    clock = FakeClock(dt.datetime(2026, 11, 26, 20, 0, tzinfo=dt.UTC))  # 05:00 the next day
    job = load_target(write("h.toml", MINIMAL), clock=clock)
    bare = load_target(write("ledger.csv", "adjustment_id\n"), clock=clock)
    assert (job.timezone, job.run_date.isoformat()) == ("Asia/Tokyo", "2026-11-27")
    assert (bare.timezone, bare.run_date.isoformat()) == ("Asia/Tokyo", "2026-11-27")


def test_an_unknown_time_zone_is_refused_naming_the_key(write) -> None:
    with pytest.raises(ConfigError, match=r"'job\.timezone' must be an IANA time zone"):
        load_target(write("bad.toml", MINIMAL + 'timezone = "Mars/Olympus"\n'), RUN_DATE)
