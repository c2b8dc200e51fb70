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
