"""What only the PostgreSQL store does: its schema and its creation by racing processes, durable
intents, passwords, and the run lock's life across sessions."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledgerrun.errors import ConfigError, FatalError, JournalError, LockHeldError
from ledgerrun.store import open_store
from ledgerrun.store.model import PENDING, SCHEMA_VERSION
from ledgerrun.store.pgconn import to_pyformat
from ledgerrun.store.postgres import PostgresStore, lock_key
from tests.helpers.store import intent, ready, run, sigkill, spawn, succeed
from tests.store import pg


@pytest.fixture
def url() -> Iterator[str]:
    """Where a fresh store will be made: an empty schema of its own."""
    location, name = pg.fresh_store_url()
    yield location
    pg.drop_schema(name)


@contextlib.contextmanager
def opened(location: str, **options: object) -> Iterator[PostgresStore]:
    store = PostgresStore.open(location, **options)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()


def raw(location: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(location, autocommit=True)


# --- the SQL and the schema ---------------------------------------------------------------------


def test_placeholders_become_psycopg_ones_and_percent_signs_stay_literal() -> None:
    sql = "SELECT '?', '50%', a FROM t WHERE b = ? AND c LIKE 'x%' AND d = ?"
    assert to_pyformat(sql) == (
        "SELECT '?', '50%%', a FROM t WHERE b = %s AND c LIKE 'x%%' AND d = %s"
    )
    assert to_pyformat("SELECT 'it''s ?' || ?") == "SELECT 'it''s ?' || %s"


def test_a_new_store_has_every_table_with_postgresql_types(url: str) -> None:
    with opened(url) as store:
        store.record_intent(intent())
        succeed(store)
    with raw(url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        }
        assert {"meta", "adjustments", "events", "runs", "seen", "audit", "locks"} <= tables
        types: dict[str, str] = dict(
            conn.execute(  # type: ignore[arg-type]
                "SELECT table_name || '.' || column_name, data_type FROM"
                " information_schema.columns WHERE table_schema = current_schema()"
            ).fetchall()
        )
        assert types["events.seq"] == "bigint" and types["audit.seq"] == "bigint"
        assert types["run_files.data"] == "bytea" and types["adjustments.attempts"] == "bigint"
        identity = conn.execute(
            "SELECT is_identity FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'events' AND column_name = 'seq'"
        ).fetchone()
        assert identity == ("YES",)
        meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())  # type: ignore[arg-type]
        assert meta["schema_version"] == str(SCHEMA_VERSION) and len(meta["store_id"]) == 32
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY seq")]
        assert kinds == ["intent", "success"]


RACE = """
import sys
from ledgerrun.store import open_store
store = open_store({url!r})
print(store._store_id, flush=True)
store.close()
"""


def test_processes_opening_a_fresh_database_at_once_create_it_once(url: str) -> None:
    children = [spawn(RACE.format(url=url)) for _ in range(4)]
    ids = {ready(child) for child in children}
    for child in children:
        assert child.wait(timeout=20) == 0, child.stderr.read() if child.stderr else ""
    assert len(ids) == 1  # one store, made once: every process read the same id
    with raw(url) as conn:
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'store_id'").fetchone() == (1,)


def test_a_store_from_a_newer_version_is_refused(url: str) -> None:
    PostgresStore.open(url).close()
    with raw(url) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(JournalError, match=r"newer ledgerrun .*version 99"):
        PostgresStore.open(url)


def test_a_store_missing_its_lock_table_is_brought_forward(url: str) -> None:
    PostgresStore.open(url).close()
    with raw(url) as conn:
        conn.execute("DROP TABLE locks")
    with pytest.raises(JournalError, match="brought forward"):
        PostgresStore.open(url, readonly=True)
    with opened(url) as store:
        store.lock("nightly")
        assert store.lock_holder("nightly") is None  # ours
    with raw(url) as conn:
        assert conn.execute("SELECT job FROM locks").fetchall() == [("nightly",)]


def test_a_schema_of_another_application_is_never_written(url: str) -> None:
    with raw(url) as conn:
        conn.execute("CREATE TABLE customers (id int)")
    with pytest.raises(JournalError, match=r"not a ledgerrun store.*customers"):
        PostgresStore.open(url)
    with raw(url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname ="
                            " current_schema()").fetchone() == (1,)  # fmt: skip


def test_an_empty_database_reads_as_empty_and_is_not_created_by_a_read_only_open(
    url: str, tmp_path: Path
) -> None:
    with contextlib.closing(open_store(url, readonly=True)) as store:
        assert store.entries(["adj-1"]) == {} and store.runs("nightly") == []
        assert store.lock_holder("nightly") is None and store.audit_events() == []
        with pytest.raises(JournalError, match="read-only"):
            store.record_intent(intent())
    with pytest.raises(JournalError, match="nothing has run with it yet"):
        open_store(url, create=False)
    from tests.helpers.cli import cli

    job = tmp_path / "job.toml"
    (tmp_path / "ledger.csv").write_text("adjustment_id,account,amount,currency\n")
    job.write_text(f'[job]\nname = "nightly"\nledger = "ledger.csv"\njournal = "{url}"\n')
    status = cli("status", job, "--format", "json")
    assert status.returncode == 0, status.stderr
    assert '"runs": []' in status.stdout
    with raw(url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname ="
                            " current_schema()").fetchone() == (0,)  # fmt: skip


def test_a_search_path_naming_no_schema_is_explained() -> None:
    missing = pg.with_schema(pg.server_url(), "no_such_schema")
    with pytest.raises(JournalError, match="no schema to create its tables in"):
        PostgresStore.open(missing)


def test_a_read_only_store_reads_but_never_writes_or_locks(url: str) -> None:
    with opened(url) as writer:
        writer.record_intent(intent())
    with opened(url, readonly=True) as reader:
        assert reader.entries(["adj-1"])["adj-1"].state == PENDING
        with pytest.raises(JournalError, match="read-only"):
            reader.record_intent(intent("adj-2"))
        with pytest.raises(JournalError, match="read-only"):
            reader.lock("nightly")
        assert reader.lock_holder("nightly") is None
        assert reader._conn is not None  # and the server refuses writes on its session too
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader._conn.execute("INSERT INTO meta VALUES ('x', 'y')")


# --- durability ---------------------------------------------------------------------------------


def test_intents_wait_for_the_disk_and_outcomes_do_not(url: str) -> None:
    # Even when the role's or server's default is off, an intent commits synchronously.
    lax = url + "%20-csynchronous_commit%3Doff"
    with opened(lax) as store:
        store.record_intent(intent())
        assert store._fast is None  # intents never touch the outcomes' connection
        succeed(store)
        fast, other = connections(store)
        assert fast.execute("SHOW synchronous_commit").fetchone() == ("off",)
        assert other.execute("SHOW synchronous_commit").fetchone() == ("on",)
        with store._tx("probe", write=True) as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        with store._tx("probe", write=True, durable=False) as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        with store._tx("probe", write=True) as conn:  # SET LOCAL ended with its transaction
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)


def connections(
    store: PostgresStore,
) -> tuple[psycopg.Connection[tuple[object, ...]], psycopg.Connection[tuple[object, ...]]]:
    """The store's connection for outcomes and its connection for everything else, once open."""
    assert store._fast is not None and store._conn is not None
    return store._fast, store._conn


WRITE_THEN_HANG = """
import time
from ledgerrun.store import open_store
from tests.helpers.store import intent
store = open_store({url!r})
store.record_intent(intent("adj-1"))
print("recorded", flush=True)
time.sleep(60)
"""


def test_an_intent_survives_sigkill_right_after_it_is_recorded(url: str) -> None:
    child = spawn(WRITE_THEN_HANG.format(url=url))
    assert ready(child) == "recorded"
    sigkill(child)
    with opened(url) as store:
        got = store.entries(["adj-1"])["adj-1"]
        assert (got.state, got.idempotency_key) == (PENDING, intent().idempotency_key)


def test_a_held_write_transaction_is_a_journal_error_not_a_hang(url: str) -> None:
    with opened(url, busy_timeout_s=0.5) as store:
        key = store._write_key
        with raw(url) as other:
            other.execute("BEGIN")
            other.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            began = time.monotonic()
            with pytest.raises(JournalError, match="locked by another session") as caught:
                store.record_intent(intent())
            assert time.monotonic() - began < 5
            assert isinstance(caught.value.__cause__, psycopg.errors.LockNotAvailable)
            other.execute("ROLLBACK")
        store.record_intent(intent())  # and the connection is fine afterwards


def test_a_lost_connection_is_reopened_between_transactions(url: str) -> None:
    with opened(url) as store:
        store.record_intent(intent())
        assert store._conn is not None
        pid = store._conn.info.backend_pid
        with raw(url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.2)
        with pytest.raises(JournalError, match="connection to PostgreSQL failed"):
            store.entries(["adj-1"])  # the transaction it was in is lost: said so
        assert store.entries(["adj-1"])["adj-1"].state == PENDING  # the next one reconnects


# --- passwords ----------------------------------------------------------------------------------

SECRET = "Pw-5ecret-never-shown"


def test_a_url_with_a_password_is_refused_without_showing_it() -> None:
    for location in (
        f"postgresql://app:{SECRET}@127.0.0.1:1/db",
        f"postgres://app:{SECRET}@127.0.0.1:1/db",
        f"postgresql://app@127.0.0.1:1/db?password={SECRET}",
    ):
        with pytest.raises(ConfigError, match="PGPASSWORD") as caught:
            open_store(location)
        assert SECRET not in str(caught.value) and "has a password in it" in str(caught.value)


@pytest.fixture
def password_user() -> Iterator[tuple[str, str]]:
    """A role that must give a password (the test server asks members of ledgerrun_password),
    owning a schema of its own; yields its store URL without the password, and the password."""
    role = f"u_{os.urandom(6).hex()}"
    with pg.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}' IN ROLE ledgerrun_password")
        conn.execute(f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {role}")
    schema = pg.new_schema(owner=role)
    base = psycopg.conninfo.conninfo_to_dict(pg.server_url())
    location = pg.with_schema(
        f"postgresql://{role}@{base['host']}:{base['port']}/{base['dbname']}", schema
    )
    yield location, SECRET
    pg.drop_schema(schema)


def test_passwords_come_from_pgpassword_or_a_password_file(
    password_user: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location, secret = password_user
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(JournalError, match=r"PGPASSWORD or ~/.pgpass") as caught:
        open_store(location)
    assert "Traceback" not in str(caught.value)
    monkeypatch.setenv("PGPASSWORD", "wrong-" + secret)
    with pytest.raises(JournalError, match="password authentication failed") as caught:
        open_store(location)
    assert secret not in str(caught.value)
    monkeypatch.setenv("PGPASSWORD", secret)
    with contextlib.closing(open_store(location)) as store:
        store.record_intent(intent())
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:{secret}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with contextlib.closing(open_store(location)) as store:
        assert set(store.entries(["adj-1"])) == {"adj-1"}


def test_the_cli_never_shows_a_password_or_a_traceback(tmp_path: Path) -> None:
    from tests.helpers.cli import cli

    job = tmp_path / "job.toml"
    (tmp_path / "ledger.csv").write_text("adjustment_id,account,amount,currency\n")
    job.write_text(
        f'[job]\nname = "pw"\nledger = "ledger.csv"\n'
        f'journal = "postgresql://app:{SECRET}@127.0.0.1:1/db"\n'
    )
    done = cli("status", job)
    assert done.returncode == 2
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert "PGPASSWORD" in done.stderr


# --- the run lock -------------------------------------------------------------------------------


def test_the_lock_holder_names_host_pid_and_since(url: str) -> None:
    with opened(url) as first, opened(url) as second:
        first.lock("nightly")
        holder = second.lock_holder("nightly")
        assert holder is not None
        assert (holder["host"], holder["pid"]) == (socket.gethostname(), os.getpid())
        assert holder["since"][:4].isdigit()
        with pytest.raises(LockHeldError, match=rf"pid {os.getpid()} on host") as caught:
            second.lock("nightly")
        assert caught.value.exit_code == 4
        assert second.lock_holder("weekly") is None


def test_the_lock_session_is_its_own_and_keeps_alive_on_both_ends(url: str) -> None:
    with opened(url) as store:
        store.lock("nightly")
        held = store._locks["nightly"]
        assert store._conn is not None and held.info.backend_pid != store._conn.info.backend_pid
        for name, value in (
            ("tcp_keepalives_idle", "2"),
            ("tcp_keepalives_interval", "1"),
            ("tcp_keepalives_count", "3"),
        ):
            assert held.execute(f"SHOW {name}").fetchone() == (value,)  # the server's end
        params = held.info.get_parameters()
        assert (params["keepalives_idle"], params["keepalives_count"]) == ("2", "3")  # ours
        with raw(url) as conn:
            key = lock_key(store._store_id, "nightly")
            row = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND"
                " objsubid = 1 AND classid = %s::bigint::oid AND objid = %s::bigint::oid",
                ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
            ).fetchone()
            assert row == (held.info.backend_pid,)


def test_a_run_whose_lock_session_ended_stops_writing(url: str) -> None:
    with opened(url) as store, opened(url) as other:
        store.lock("nightly")
        store.start_run(run())
        with raw(url) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(%s)", (store._locks["nightly"].info.backend_pid,)
            )
        time.sleep(0.3)
        other.lock("nightly")  # the lock is free for another host at once
        with pytest.raises(JournalError, match=r"run lock of job nightly .* was lost"):
            store.record_intent(intent())
        assert other.entries(["adj-1"]) == {}  # nothing was written after the loss
        assert store.runs("nightly")[0].run_id == "run-1"  # reads still work


def test_close_releases_the_lock_at_once(url: str) -> None:
    with opened(url, lock_wait_s=0.0) as first, opened(url, lock_wait_s=0.0) as second:
        first.lock("nightly")
        with pytest.raises(LockHeldError):
            second.lock("nightly")
        first.close()
        second.lock("nightly")  # no grace needed: close() unlocked before closing


def test_a_store_on_an_unreachable_server_is_a_journal_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FatalError, match="cannot connect to the store") as caught:
        open_store(f"postgresql://nobody@127.0.0.1:{port}/db")
    assert isinstance(caught.value, JournalError)


def test_status_shows_the_holder_of_a_postgresql_store(url: str, tmp_path: Path) -> None:
    from tests.helpers.cli import cli

    job = tmp_path / "job.toml"
    (tmp_path / "ledger.csv").write_text("adjustment_id,account,amount,currency\n")
    job.write_text(f'[job]\nname = "nightly"\nledger = "ledger.csv"\njournal = "{url}"\n')
    child = spawn(
        "from ledgerrun.store import open_store\n"
        f"s = open_store({url!r}); s.lock('nightly'); print('locked', flush=True)\n"
        "import time; time.sleep(60)"
    )
    try:
        assert ready(child) == "locked"
        done = cli("status", job, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert str(child.pid) in done.stdout
    finally:
        sigkill(child)
