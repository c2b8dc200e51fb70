"""How fast the web application shows a large batch: its validation page for 100,000 rows.

Writes a 100,000-row ledger (1% of rows with a problem), uploads it to an in-process application
(Starlette's test client: no network in the timing), then times the batch page: cold (the
ledger read, validated and planned again, as after a restart or once the short-lived cache has
expired), warm (paging through it), and filtered to the rows with problems.

    .venv/bin/python benchmarks/web.py [--rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ledger(rows: int, path: Path) -> None:
    rng = random.Random(7)
    lines = ["adjustment_id,account,amount,currency,method,description,metadata.invoice"]
    for i in range(rows):
        account = f"acct_1Bench{rng.randrange(2000):06d}"
        amount = f"{rng.randrange(100, 500_000) / 100:.2f}"
        if i % 100 == 37:
            amount = "twelve"  # a problem to show on its cell
        lines.append(f"B-{i:07d},{account},{amount},usd,,Adjustment {i},INV-{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from ledgerrun.store import open_store
    from ledgerrun.web import service
    from ledgerrun.web.app import create_app
    from ledgerrun.web.config import load_config
    from tests.web.site import PASSWORD, add_user, env, make_site

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        config = load_config(make_site(folder, "http://127.0.0.1:9", max_upload_mb=100))
        store = open_store(config.store)
        add_user(store, "bench", "preparer")
        client = TestClient(create_app(config, store=store, env=env(), worker=False))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
        assert csrf is not None
        form = {"username": "bench", "password": PASSWORD, "csrf_token": csrf.group(1)}
        client.post("/signin", data=form)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/batches").text)
        assert token is not None
        path = folder / "big.csv"
        ledger(args.rows, path)
        size_mb = path.stat().st_size / 1e6
        started = time.perf_counter()
        answer = client.post(
            "/batches",
            data={"job": "fees", "csrf_token": token.group(1)},
            files={"ledger": ("big.csv", path.read_bytes(), "text/csv")},
        )
        upload_s = time.perf_counter() - started
        page = str(answer.url)
        assert answer.status_code == 200 and "/batches/" in page, answer.status_code

        def timed(url: str, cold: bool) -> float:
            if cold:
                service.REVIEWS._items.clear()
            began = time.perf_counter()
            got = client.get(url)
            took = time.perf_counter() - began
            assert got.status_code == 200 and "ledger-rows" in got.text
            return took

        results = {
            "cold, page 1": [timed(page, True) for _ in range(args.repeat)],
            "warm, page 500": [timed(page + "?page=500", False) for _ in range(args.repeat)],
            "cold, problems only, page 5": [
                timed(page + "?only=problems&page=5", True) for _ in range(args.repeat)
            ],
        }
        store.close()
    print(f"{args.rows:,} rows ({size_mb:.1f} MB CSV); upload, validation, plan: {upload_s:.2f} s")
    print(f"batch page, median of {args.repeat} (min-max):")
    for name, times in results.items():
        print(f"  {name:<28} {statistics.median(times):.3f} s ({min(times):.3f}-{max(times):.3f})")


if __name__ == "__main__":
    main()
