"""Screenshots of the web application's main pages, for docs/web.md.

Starts a sandbox seeded with the sample accounts, a site in a temporary folder (a job needing
two approvers above 10,000.00 USD, a preparer, two approvers and an admin), ``ledgerrun serve``,
and headless Chromium; then works through the pages as they would (a draft sent back, the
corrected ledger approved twice and run), saving ``docs/web-*.png``:

    .venv/bin/python tools/web_screenshots.py [--out docs]

Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.chromium import launch  # noqa: E402

SAMPLES = ROOT / "data_samples"
KEY = "sk_test_screenshots0000000000000000"
PASSWORD = "screenshot password"


def site(folder: Path, sandbox: str) -> Path:
    jobs = folder / "jobs"
    jobs.mkdir()
    (jobs / "month-end.toml").write_text(
        '[job]\nname = "month-end"\nledger = "unused.csv"\napproval = "required"\n'
        'results = "../out/{job}-{date}.results.csv"\n\n'
        '[limits]\nmax_amount = { usd = "10000.00", eur = "10000.00", jpy = "1500000" }\n\n'
        '[approval]\nrules = [{ above = "10000.00", currency = "usd", approvers = 2 }]\n\n'
        f'[stripe]\napi_base = "{sandbox}"\nrate_limit = 12\nconcurrency = 4\n',
        encoding="utf-8",
    )
    (jobs / "fees.toml").write_text(
        f'[job]\nname = "fees"\nledger = "unused.csv"\n\n[stripe]\napi_base = "{sandbox}"\n',
        encoding="utf-8",
    )
    config = folder / "serve.toml"
    config.write_text(
        '[serve]\nhost = "127.0.0.1"\nport = 0\njobs = "jobs"\nstore = "state/web.sqlite"\n'
        'uploads = "uploads"\n',
        encoding="utf-8",
    )
    for name, role in (("maria", "preparer"), ("tom", "approver"), ("ana", "approver"),
                       ("priya", "admin")):  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "ledgerrun", "users", "add", name, "--role", role,
             "--config", str(config), "--password-stdin"],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        )  # fmt: skip
    return config


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url + "/signin")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/batches$"))


def upload(page: Page, job: str, path: Path) -> None:
    page.get_by_label("Job").select_option(job)
    page.get_by_label("Ledger file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/batches/[\w-]+$"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    out = parser.parse_args().out
    from ledgerrun_sandbox import SandboxServer

    with (
        SandboxServer(SAMPLES / "accounts.json", port=0, api_keys=[KEY], limits="off") as sandbox,
        tempfile.TemporaryDirectory() as temp,
    ):
        folder = Path(temp)
        config = site(folder, sandbox.url)
        env = {**os.environ, "STRIPE_API_KEY": KEY}
        server = subprocess.Popen(
            [sys.executable, "-m", "ledgerrun", "serve", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        assert server.stdout is not None
        select.select([server.stdout], [], [], 60)
        url = server.stdout.readline().strip().removeprefix("listening on ")
        try:
            shoot(url, folder, out)
        finally:
            server.terminate()
            server.wait(30)


def shoot(url: str, folder: Path, out: Path) -> None:
    bad = folder / "november-draft.csv"
    bad.write_bytes((SAMPLES / "bad_adjustments.csv").read_bytes())
    good = folder / "november.csv"
    good.write_bytes((SAMPLES / "adjustments.csv").read_bytes())
    with sync_playwright() as p:
        browser = launch(p)
        size = {"width": 1280, "height": 900}
        maria = browser.new_context(viewport=size).new_page()
        maria.goto(url + "/signin")
        maria.get_by_label("Username").fill("maria")
        maria.screenshot(path=str(out / "web-signin.png"))
        sign_in(maria, url, "maria")
        upload(maria, "month-end", bad)
        draft = maria.url
        maria.goto(maria.url + "?only=problems#rows")
        maria.locator("#rows").scroll_into_view_if_needed()
        maria.screenshot(path=str(out / "web-batch-problems.png"))
        maria.goto(url + "/batches")
        upload(maria, "month-end", good)
        batch = maria.url
        maria.goto(url + "/batches")
        maria.screenshot(path=str(out / "web-batches.png"))

        tom = browser.new_context(viewport=size).new_page()
        sign_in(tom, url, "tom")
        tom.goto(draft)  # the draft with problems goes back to maria, with what to correct
        tom.get_by_label("Comment").fill(
            "Rows 3 and 7: the account ids are mistyped. Please correct them and upload again."
        )
        tom.get_by_role("button", name="Send back").click()
        tom.wait_for_selector("text=Sent back to the preparer")
        maria.goto(draft)
        top = {"x": 0, "y": 0, "width": 1280, "height": 1000}
        maria.screenshot(path=str(out / "web-sent-back.png"), full_page=True, clip=top)

        tom.goto(batch)
        tom.wait_for_selector("text=Accounts and balances checked with Stripe", timeout=60_000)
        tall = {"x": 0, "y": 0, "width": 1280, "height": 1500}
        tom.screenshot(path=str(out / "web-batch-plan.png"), full_page=True, clip=tall)
        tom.get_by_role("button", name="Approve").click()
        tom.wait_for_selector("#approval-waiting")
        tom.locator("#decision").scroll_into_view_if_needed()
        tom.screenshot(path=str(out / "web-approval-waiting.png"))

        ana = browser.new_context(viewport=size).new_page()
        sign_in(ana, url, "ana")
        ana.goto(batch)
        ana.get_by_role("button", name="Approve").click()
        ana.wait_for_selector("#batch-status:has-text('Approved')")
        ana.get_by_role("button", name="Run").click()
        ana.wait_for_url(re.compile(r".*/work/[\w-]+$"))
        for _ in range(600):  # the page updates itself; wait until it is well under way
            if int(ana.locator("#p-done").inner_text().replace(",", "") or 0) > 60:
                break
            ana.wait_for_timeout(100)
        ana.screenshot(path=str(out / "web-run-progress.png"))
        ana.wait_for_selector("text=Download results (CSV)", timeout=120_000)
        ana.screenshot(path=str(out / "web-run-results.png"), full_page=True, clip=tall)
        ana.goto(url + "/audit")
        ana.screenshot(path=str(out / "web-audit.png"))

        priya = browser.new_context(viewport=size).new_page()
        sign_in(priya, url, "priya")
        priya.goto(url + "/admin/users")
        priya.screenshot(path=str(out / "web-users.png"))
        browser.close()
    for name in sorted(out.glob("web-*.png")):
        print(name.relative_to(ROOT) if name.is_relative_to(ROOT) else name)


if __name__ == "__main__":
    main()
