"""The executable's fast start: each command imports what it uses when it uses it, and the
shortcuts taken at start cost nothing later (pandas and the SDK's HTTP clients still work when
needed). What start-up costs is measured in benchmarks/startup.py, never asserted here."""

from __future__ import annotations

import ast
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from ledgerrun.cli import COMMANDS
from ledgerrun_sandbox import SandboxServer
from tests.helpers.cli import write_job
from tests.helpers.constants import KEY

SCRIPT = """
import sys
import ledgerrun.cli  # importing ledgerrun must not run pyarrow's probe (it would import pandas)
from ledgerrun.startup import skip_pandas_probe
skip_pandas_probe()
assert "pandas" not in sys.modules, "the probe imported pandas"
import pyarrow as pa, pyarrow.compute as pc
assert pc.equal(pa.array(["a", "b"]), "a").to_pylist() == [True, False]
frame = pa.table({"amount_minor": [1500, 250]}).to_pandas()
assert "pandas" in sys.modules and int(frame["amount_minor"].sum()) == 1750
import pandas as pd
assert pa.array(pd.Series([1, 2])).to_pylist() == [1, 2]
assert pa.Table.from_pandas(pd.DataFrame({"x": ["a"]})).num_rows == 1
print("ok")
"""


def test_pandas_is_skipped_at_start_and_still_works_when_needed() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


OFFLINE = """
import sys
from ledgerrun.cli import main
for args in (["validate", "--offline", sys.argv[1]], ["plan", "--offline", sys.argv[1]]):
    try:
        main(args, standalone_mode=True)
    except SystemExit as exc:
        assert exc.code == 0, exc.code
heavy = ("stripe", "requests", "urllib3", "jinja2", "psycopg")
loaded = sorted(m for m in heavy if m in sys.modules)
print("loaded:", loaded)
"""


def test_offline_commands_never_load_the_stripe_sdk() -> None:
    """Reading and checking a ledger sends nothing, so it need not pay for importing the Stripe
    SDK and its HTTP stack (0.15 s of every offline validate, docs/benchmarks.md)."""
    from tests.helpers.constants import SAMPLES

    ledger = str(SAMPLES / "adjustments.csv")
    done = subprocess.run([sys.executable, "-c", OFFLINE, ledger], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"


# --- every command's import set -----------------------------------------------------------------

HEAVY = (
    "stripe",  # the SDK: only commands that talk to Stripe
    "urllib3",  # its transport
    "requests",  # never: the SDK's probe for it is answered, and ledgerrun does not use it
    "httpx",
    "pyarrow",  # commands that read a ledger or a results file
    "pyarrow.compute",  # never: its import writes a wrapper per function (ledgerrun.compute)
    "numpy",  # never from the command line: pyarrow's import of it is answered
    "pandas",  # never from the command line
    "jinja2",  # commands that write a report
    "psycopg",  # a PostgreSQL journal only
    "openpyxl",  # an .xlsx ledger or results file only
    "starlette",  # the web application only
    "uvicorn",
    "argon2",
    "ledgerrun.web",
    "ledgerrun_sandbox",
    "ledgerrun.send.reversal",  # reverse only
    "ledgerrun.reconcile",  # reconcile only
)

# What each command may import, beyond the interpreter and ledgerrun's own core; anything else
# of HEAVY it loads fails the test. (The sandbox is a separate process here.)
ONLINE = {"stripe", "urllib3", "pyarrow"}
ALLOWED: dict[str, set[str]] = {
    "--help": set(),
    "run --help": set(),
    "sandbox --help": set(),
    "serve --help": set(),
    "users --help": set(),
    "worker --help": set(),
    "journal --help": set(),
    "validate --offline": {"pyarrow"},
    "plan --offline": {"pyarrow"},
    "plan": ONLINE,
    "check": ONLINE,
    "run": ONLINE | {"jinja2"},
    "status": {"pyarrow"},
    "results": {"pyarrow", "jinja2"},
    "reconcile": ONLINE | {"jinja2", "ledgerrun.reconcile"},
    "reverse --dry-run": ONLINE | {"ledgerrun.send.reversal"},
    "reverse": ONLINE | {"ledgerrun.send.reversal"},
}

# ledgerrun's own modules a command must not load, beyond HEAVY's: each costs its imports and the
# dataclasses it defines (about a millisecond each to create, docs/benchmarks.md "Start-up").
COMMAND_MODULES = {f"ledgerrun.cli.{name}" for name in COMMANDS}
ONLINE_ONLY = {  # pre-flight, the Stripe guard and Stripe's shapes: what a command online uses
    "ledgerrun.send.guard",
    "ledgerrun.send.preflight",
    "ledgerrun.send.verdicts",
    "ledgerrun.send.listings",
    "ledgerrun.stripe.shapes",
}
JOURNAL = {"ledgerrun.store", "ledgerrun.store.model"}  # validate --offline opens none
WEB_RECORDS = {"ledgerrun.store.web_model"}
API = {"ledgerrun.api", "ledgerrun.api.results", "ledgerrun.api.frames", "ledgerrun.api.inputs"}
API_CALLS = API - {"ledgerrun.api"}  # after_run is in the package; the calls are not for a run
XLSX = {  # the readers of a spreadsheet's cells, types and formats: a CSV ledger needs none
    "ledgerrun.ingest.xlsx",
    "ledgerrun.ingest.typed",
    "ledgerrun.ingest.workbook",
    "ledgerrun.ingest.cellview",
    "ledgerrun.ingest.moneyfmt",
    "ledgerrun.ingest.numfmt",
    "ledgerrun.ingest.datefmt",
}
NOTIFY = {"ledgerrun.notify.settings", "ledgerrun.notify.message", "ledgerrun.notify.deliver"}
OFFLINE_NEVER = ONLINE_ONLY | WEB_RECORDS | API | XLSX | NOTIFY | {"ledgerrun.events"}
NEVER_OWN: dict[str, set[str]] = {
    "validate --offline": OFFLINE_NEVER | JOURNAL | (COMMAND_MODULES - {"ledgerrun.cli.validate"})
    | {"ledgerrun.send.plan", "ledgerrun.ingest.compose"},
    "plan --offline": OFFLINE_NEVER | JOURNAL | (COMMAND_MODULES - {"ledgerrun.cli.plan"}),
    # a job with no approval policy and no [notify]: no plan, no notification, no web record
    # and, on a terminal only, the progress line; a first run has no reversals to report
    "run": WEB_RECORDS | API_CALLS | NOTIFY | XLSX | (COMMAND_MODULES - {"ledgerrun.cli.run"})
    | {"ledgerrun.send.plan", "ledgerrun.output.progress", "ledgerrun.output.report_reversals"},
    "status": WEB_RECORDS | API | ONLINE_ONLY | (COMMAND_MODULES - {"ledgerrun.cli.status"}),
    "results": WEB_RECORDS | API | ONLINE_ONLY | (COMMAND_MODULES - {"ledgerrun.cli.results"}),
    "reconcile": WEB_RECORDS | API_CALLS | XLSX | (COMMAND_MODULES - {"ledgerrun.cli.reconcile"}),
    "reverse": WEB_RECORDS | API | XLSX | (COMMAND_MODULES - {"ledgerrun.cli.reverse"}),
}  # fmt: skip

LOADED = """
import atexit, sys
HEAVY = %r
def loaded():
    print("own:", sorted(m for m in sys.modules if m.startswith("ledgerrun.")))
    print("loaded:", sorted(m for m in HEAVY if m in sys.modules))
atexit.register(loaded)
sys.argv = ["ledgerrun", *sys.argv[1:]]
from ledgerrun.cli import entry
entry()
"""


def _loaded(args: list[str], cwd: Path) -> tuple[int, set[str], str, set[str]]:
    """The HEAVY modules loaded by the time the command's process exits, the executable's way
    (and ledgerrun's own modules loaded)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED % (HEAVY,), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "STRIPE_API_KEY": KEY},
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    assert last.startswith("loaded: ") and lines[-2].startswith("own: "), done.stdout + done.stderr
    heavy = set(ast.literal_eval(last.removeprefix("loaded: ")))
    own = set(ast.literal_eval(lines[-2].removeprefix("own: ")))
    return done.returncode, heavy, done.stderr, own


def test_help_loads_the_command_line_alone(tmp_path: Path) -> None:
    """--help lists every command with its short help, from the commands' own modules, and
    loads nothing of the library they call."""
    code, heavy, err, own = _loaded(["--help"], tmp_path)
    assert code == 0 and heavy == set(), err
    assert own - COMMAND_MODULES == {"ledgerrun.cli", "ledgerrun.cli._common", "ledgerrun.errors",
                                     "ledgerrun.startup"}  # fmt: skip


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_an_offline_command_loads_no_journal_online_web_or_other_commands_modules(
    tmp_path: Path, command: str
) -> None:
    """A bare CSV ledger checked offline: the file is read and validated, and nothing of the
    journal (none is opened), pre-flight, the guard, the Stripe shapes, the run's events, the
    web application's records, the Python API, notifications, a spreadsheet's readers,
    approval rules (a ledger given alone has none; a job file's are read), a run's summary or
    another command is imported."""
    from tests.helpers.constants import SAMPLES

    ledger = str(SAMPLES / "adjustments.csv")
    code, heavy, err, own = _loaded([command, "--offline", ledger], tmp_path)
    assert code == 0 and heavy == {"pyarrow"}, err
    assert f"ledgerrun.cli.{command}" in own and "ledgerrun.ingest.validate" in own
    alone = {"ledgerrun.approval_policy", "ledgerrun.summary"}  # no rules, no run to sum up
    assert own & (NEVER_OWN[f"{command} --offline"] | alone) == set()


def test_the_lazy_commands_are_the_groups_commands() -> None:
    """Each name of COMMANDS is its module's command of the same name, and nothing else is."""
    import click

    from ledgerrun.cli import main

    assert sorted(main.commands) == sorted(COMMANDS) == main.list_commands(click.Context(main))
    for name in COMMANDS:
        assert main.commands[name].name == name
    assert "nosuch" not in main.commands and main.get_command(click.Context(main), "x") is None


@pytest.mark.slow
def test_each_command_imports_only_what_it_uses(tmp_path: Path, sandbox: SandboxServer) -> None:
    """Each command, run to its end against the sandbox in the order a night runs them (the
    run, then what reads its records), loads nothing of HEAVY beyond its ALLOWED set, and none
    of ledgerrun's own modules NEVER_OWN names for it."""
    rows = ["R-1,acct_1ConnAA000000,10.00,usd,,,", "R-2,acct_1ConnBA000001,11.00,usd,,,"]
    job = str(write_job(tmp_path, sandbox.url, rows))
    commands = {
        "--help": ["--help"],
        "run --help": ["run", "--help"],
        "sandbox --help": ["sandbox", "--help"],
        "serve --help": ["serve", "--help"],
        "users --help": ["users", "--help"],
        "worker --help": ["worker", "--help"],
        "journal --help": ["journal", "--help"],
        "validate --offline": ["validate", "--offline", job],
        "plan --offline": ["plan", "--offline", job],
        "plan": ["plan", job],
        "check": ["check", job],
        "run": ["run", job],
        "status": ["status", job],
        "results": ["results", job],
        "reconcile": ["reconcile", job],
        "reverse --dry-run": ["reverse", job, "--all", "--dry-run"],
        "reverse": ["reverse", job, "--all"],
    }
    extra: dict[str, set[str]] = {}
    for name, args in commands.items():
        code, loaded, err, own = _loaded(args, tmp_path)
        assert code == 0, (name, err[-2000:])
        if loaded - ALLOWED[name]:
            extra[name] = loaded - ALLOWED[name]
        if own & NEVER_OWN.get(name, set()):
            extra[name] = own & NEVER_OWN[name]
    assert extra == {}


NUMPY = """
import sys
from ledgerrun.startup import skip_numpy_for_pyarrow
skip_numpy_for_pyarrow()
import pyarrow as pa, pyarrow.csv, pyarrow.parquet
from ledgerrun import compute
assert "numpy" not in sys.modules, "pyarrow's import (or ledgerrun.compute's) loaded numpy"
import pyarrow.compute as pc
assert "numpy" not in sys.modules, "pyarrow.compute's import loaded numpy"
assert compute.equal(pa.array(["a", "b"]), "a").to_pylist() == [True, False]
assert pc.sum(pa.array([1, 2, 3])).as_py() == 6
try:
    pa.array([1]).to_numpy()
except Exception as exc:  # what a numpy conversion says in such a process
    assert "numpy" in str(exc).lower(), exc
else:
    raise AssertionError("converted to numpy without numpy")
import numpy as np  # anyone else's import of numpy is untouched
assert int(np.arange(3).sum()) == 3
print("ok")
"""


def test_numpy_is_kept_from_pyarrow_and_still_imports_for_others() -> None:
    done = subprocess.run([sys.executable, "-c", NUMPY], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


SDK_PROBE = """
import sys
from ledgerrun.startup import skip_sdk_probe
skip_sdk_probe()
import stripe
assert "requests" not in sys.modules and "httpx" not in sys.modules, "the SDK's probe imported"
import requests  # anyone else's import of a probed library is untouched
client = stripe.RequestsClient(timeout=5)  # and so are the SDK's own clients
assert client.requests is requests
print("ok")
"""


def test_the_sdk_probe_is_skipped_and_its_clients_still_work() -> None:
    done = subprocess.run([sys.executable, "-c", SDK_PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_report_templates_are_compiled_once_and_a_broken_cache_costs_nothing(
    tmp_path: Path,
) -> None:
    """Compiled once into the cache; a second environment loads the same code from it; a cache
    file of garbage is compiled again rather than failing the page."""
    from jinja2.bccache import Bucket

    from ledgerrun.output.render import TemplateCache, environment

    class Counted(TemplateCache):
        hits = 0

        def load_bytecode(self, bucket: Bucket) -> None:
            super().load_bytecode(bucket)
            Counted.hits += bucket.code is not None

    names = ["base.html.j2", "macros.html.j2", "report.html.j2", "report_body.html.j2"]

    def compiled(cache: TemplateCache | None) -> list[bytes]:
        env = environment()
        env.bytecode_cache = cache
        return [env.get_template(n).root_render_func.__code__.co_code for n in names]

    fresh = compiled(None)
    assert compiled(Counted(str(tmp_path))) == fresh and Counted.hits == 0  # written
    assert len(list(tmp_path.iterdir())) == len(names)
    assert compiled(Counted(str(tmp_path))) == fresh and Counted.hits == len(names)  # read
    for cached in tmp_path.iterdir():
        cached.write_bytes(b"not a template")
    assert compiled(Counted(str(tmp_path))) == fresh


POOL = """
import sys
from ledgerrun.cli import main
try:
    main([sys.argv[1], "--offline", sys.argv[2]], standalone_mode=True)
except SystemExit as exc:
    assert exc.code == 0, exc.code
import pyarrow as pa
print(pa.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize(
    ("command", "chosen", "used"),
    [
        ("plan", None, "system"),
        ("plan", "mimalloc", "mimalloc"),
        ("validate", None, "mimalloc"),
        ("validate", "system", "system"),
    ],
)
def test_each_command_gets_its_pool_unless_the_user_chose(
    command: str, chosen: str | None, used: str
) -> None:
    """pyarrow's other pools keep what a command freed (docs/benchmarks.md, "Memory"), but
    validate is faster with mimalloc for the same bound ("Ingest"); a user's
    ``ARROW_DEFAULT_MEMORY_POOL`` still wins."""
    from tests.helpers.constants import SAMPLES

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    ledger = str(SAMPLES / "adjustments.csv")
    done = subprocess.run(
        [sys.executable, "-c", POOL, command, ledger], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == used


ARROWS_OWN = """
import io, os, sys
from ledgerrun.startup import lean_allocator
lean_allocator(sys.argv[1])
import pyarrow as pa
import pyarrow.parquet as pq
rows = pa.table({"adjustment_id": [f"ADJ-{n}" for n in range(50_000)]})
writer = pq.ParquetWriter(io.BytesIO(), rows.schema)
writer.write_table(rows)  # the open writer holds the row group's pages, from Arrow's default
print(pa.mimalloc_memory_pool().bytes_allocated(), os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))
writer.close()
"""


@pytest.mark.parametrize(("pool", "in_mimalloc"), [("system", False), ("mimalloc", True)])
def test_arrows_own_code_allocates_from_the_chosen_pool_too(pool: str, in_mimalloc: bool) -> None:
    """The Parquet writer allocates from Arrow's default pool, which ``set_memory_pool`` does
    not change: chosen before pyarrow is imported, it is the command's pool too, and the
    variable that chose it is not left for the processes the command starts."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", ARROWS_OWN, pool], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    held, variable = done.stdout.split()
    assert (int(held) > 0) == in_mimalloc and variable == "None"


ARENAS = """
import ctypes, os, sys, tempfile, threading
from ledgerrun.startup import lean_allocator
lean_allocator(sys.argv[1])
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
together = threading.Barrier(8)

def work():
    block = libc.malloc(4096)  # a thread's first malloc takes it an arena
    together.wait()  # all alive at once: none hands its arena on
    libc.free(block)

threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
path = os.path.join(tempfile.mkdtemp(), "arenas.xml")
out = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
print(open(path).read().count("<heap nr="))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or "glibc" not in platform.libc_ver()[0],
    reason="malloc arenas are glibc's",
)
@pytest.mark.parametrize(("pool", "capped"), [("system", True), ("mimalloc", False)])
def test_a_commands_threads_share_two_malloc_arenas(pool: str, capped: bool) -> None:
    """glibc gives threads arenas of their own, and what a thread freed stays in its arena:
    a command on the system pool lets its threads share two (docs/benchmarks.md, "Memory");
    eight threads at once otherwise take eight more."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, pool], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert (int(done.stdout) <= 2) == capped


def test_reconcile_asks_for_jemalloc() -> None:
    """reconcile's peak was lower with jemalloc (docs/benchmarks.md, "Memory")."""
    import importlib
    import inspect

    command = importlib.import_module("ledgerrun.cli.reconcile")
    assert 'pool="jemalloc"' in inspect.getsource(command)
    code = (
        "from ledgerrun.startup import lean_allocator; lean_allocator('jemalloc'); "
        "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "jemalloc"
