"""The executable's fast start must not cost anything later: pandas still works when needed."""

from __future__ import annotations

import subprocess
import sys

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
loaded = sorted(m for m in ("stripe", "requests", "jinja2", "psycopg") if m in sys.modules)
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
