"""The web application in process (Starlette's test client), against the sandbox over HTTP: each
security rule, the four-eyes flow, the run through the worker, downloads and the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledgerrun.store import open_store
from ledgerrun.store.model import Store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import ServeConfig, load_config
from ledgerrun.web.worker import Worker
from tests.helpers.constants import KEY
from tests.helpers.sandbox import debits
from tests.helpers.sandbox import sandbox_state as state
from tests.web.site import (
    BAD_ROWS,
    GOOD_ROWS,
    PASSWORD,
    add_user,
    env,
    ledger,
    make_site,
    xlsx_rows,
)

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@dataclass
class Web:
    config: ServeConfig
    store: Store
    app: Any
    sandbox_url: str

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, name: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        signin(client, name, password)
        return client

    def work(self) -> int:
        """Do every queued item, as the worker thread would; how many were done."""
        worker = Worker(self.config, self.store, env())
        done = 0
        while worker.step():
            done += 1
        return done


def token(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_RE.search(page.text)
    assert found is not None
    return found.group(1)


def signin(client: TestClient, name: str, password: str) -> Any:
    csrf = token(client, "/signin")
    done = client.post("/signin", data={"username": name, "password": password, "csrf_token": csrf})
    return done


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("site")
    config = load_config(make_site(folder, module_sandbox.url))
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("quinn", "preparer"), ("ada", "approver"),
                       ("root", "admin")):  # fmt: skip
        add_user(store, name, role)
    app = create_app(config, store=store, env=env(), worker=False)
    yield Web(config, store, app, module_sandbox.url)
    store.close()


def upload(client: TestClient, job: str, name: str, data: bytes) -> Any:
    csrf = token(client, "/batches")
    return client.post(
        "/batches",
        data={"job": job, "csrf_token": csrf},
        files={"ledger": (name, data, "text/csv")},
    )


def new_batch(web: Web, rows: list[str], job: str = "payouts", by: str = "pat") -> str:
    client = web.signed_in(by)
    done = upload(client, job, "ledger.csv", ledger(rows))
    assert done.status_code == 303, done.text
    return str(done.headers["location"]).rsplit("/", 1)[-1]


def decide(client: TestClient, batch_id: str, action: str = "approve", **override: str) -> Any:
    page = client.get(f"/batches/{batch_id}")
    form = dict(re.findall(r'name="(sha256|plan|csrf_token)" value="([^"]*)"', page.text))
    if "csrf_token" not in form:
        form["csrf_token"] = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    form.update(override)
    return client.post(f"/batches/{batch_id}/{action}", data=form)


# --- sign-in and sessions ------------------------------------------------------------------------


def test_a_signed_out_visitor_gets_no_page_and_no_download(web: Web) -> None:
    client = web.client()
    for path in ("/batches", "/batches/123-abc", "/audit", "/work/123-abc"):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["location"].startswith("/signin?next=")
    for path in ("/work/1-a/results.csv", "/work/1-a/results.xlsx", "/work/1-a/report",
                 "/work/1-a/progress", "/batches/1-a/reconcile.csv"):  # fmt: skip
        assert client.get(path).status_code == 401, path
    refused = client.post("/batches/1-a/run", data={})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")


def test_every_response_carries_the_security_headers(web: Web) -> None:
    client = web.client()
    answers = [client.get("/signin"), client.get("/batches"), client.get("/work/1-a/report"),
               client.get("/static/app.js"), client.get("/nowhere")]  # fmt: skip
    signed = web.signed_in("pat")
    answers += [signed.get("/batches"), signed.get("/audit"), signed.get("/batches/nope")]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.url, name)
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    page = signed.get("/batches")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "onclick" not in page.text  # JS comes as files only


def test_the_session_cookie_is_httponly_strict_and_expires(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = web.client()
    answer = signin(client, "pat", PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert f"max-age={web.config.session_minutes * 60}" in cookie
    assert "secure" not in cookie  # plain HTTP here; behind HTTPS see the next test
    assert client.get("/batches").status_code == 200
    later = time.time() + web.config.session_minutes * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/batches").status_code == 302


def test_behind_https_the_cookie_is_secure(web: Web, tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path, web.sandbox_url, serve_extra="https = true"))
    store = open_store(config.store)
    try:
        add_user(store, "pat", "preparer")
        client = TestClient(
            create_app(config, store=store, env=env(), worker=False),
            base_url="https://testserver",
            follow_redirects=False,
        )
        answer = signin(client, "pat", PASSWORD)
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        assert "strict-transport-security" in answer.headers
    finally:
        store.close()


def test_a_wrong_password_is_refused_and_recorded(web: Web) -> None:
    client = web.client()
    answer = signin(client, "ada", "not the password")
    assert answer.status_code == 401 and "Wrong username or password" in answer.text
    assert client.get("/batches").status_code == 302
    events = web.store.audit_events(limit=20)
    assert any(e.action == "sign_in_failed" and e.user == "ada" for e in events)


def test_repeated_failed_signins_are_slowed_for_every_server_process(
    web: Web, tmp_path: Path
) -> None:
    config = load_config(make_site(tmp_path, web.sandbox_url))
    store = open_store(config.store)  # a site of its own: failures count per address too
    try:
        add_user(store, "quinn", "preparer")
        client = TestClient(create_app(config, store=store, env=env(), worker=False))
        for _ in range(5):
            assert signin(client, "quinn", "wrong password").status_code == 401
        refused = signin(client, "quinn", PASSWORD)  # even the right password must wait
        assert refused.status_code == 429 and "Wait" in refused.text
        # a second server process on the same store agrees (the counts live in the store)
        other = create_app(config, store=store, env=env(), worker=False)
        again = TestClient(other, follow_redirects=False)
        assert signin(again, "quinn", PASSWORD).status_code == 429
        assert any(e.action == "sign_in_throttled" for e in store.audit_events())
    finally:
        store.close()


def test_the_signin_form_itself_needs_its_csrf_token(web: Web) -> None:
    client = web.client()
    client.get("/signin")
    answer = client.post("/signin", data={"username": "pat", "password": PASSWORD})
    assert answer.status_code == 403
    assert client.get("/batches").status_code == 302


def test_a_disabled_user_is_signed_out_at_the_next_request(web: Web) -> None:
    add_user(web.store, "temp", "preparer")
    client = web.signed_in("temp")
    assert client.get("/batches").status_code == 200
    web.store.update_user("temp", disabled=True)
    assert client.get("/batches").status_code == 302
    assert signin(web.client(), "temp", PASSWORD).status_code == 401


def test_next_never_leads_off_the_site(web: Web) -> None:
    client = web.client()
    csrf = token(client, "/signin")
    answer = client.post(
        "/signin",
        data={"username": "pat", "password": PASSWORD, "csrf_token": csrf,
              "next": "//evil.example/"},
    )  # fmt: skip
    assert answer.headers["location"] == "/batches"


# --- CSRF and roles ------------------------------------------------------------------------------


def test_every_post_without_the_csrf_token_is_refused(web: Web) -> None:
    batch_id = new_batch(web, GOOD_ROWS)
    client = web.signed_in("ada")
    for action in ("approve", "reject", "run", "check", "reconcile"):
        assert client.post(f"/batches/{batch_id}/{action}", data={}).status_code == 403, action
        forged = client.post(f"/batches/{batch_id}/{action}", data={"csrf_token": "x" * 43})
        assert forged.status_code == 403, action
    assert client.post("/signout", data={}).status_code == 403
    files = {"ledger": ("l.csv", ledger(GOOD_ROWS), "text/csv")}
    assert (
        web.signed_in("pat").post("/batches", data={"job": "payouts"}, files=files).status_code
        == 403
    )
    assert not web.store.approvals(batch_id)


def test_roles_are_checked_on_every_action_not_only_by_hiding_buttons(web: Web) -> None:
    batch_id = new_batch(web, GOOD_ROWS)
    preparer = web.signed_in("quinn")
    page = preparer.get(f"/batches/{batch_id}")
    assert ">Approve<" not in page.text and ">Reject<" not in page.text
    assert decide(preparer, batch_id, "approve").status_code == 403
    assert decide(preparer, batch_id, "reject").status_code == 403
    approver = web.signed_in("ada")
    files = {"ledger": ("l.csv", ledger(GOOD_ROWS), "text/csv")}
    csrf = token(approver, "/batches")
    answer = approver.post("/batches", data={"job": "payouts", "csrf_token": csrf}, files=files)
    assert answer.status_code == 403
    assert not web.store.approvals(batch_id)


def test_nobody_approves_their_own_upload_not_even_an_admin(web: Web) -> None:
    batch_id = new_batch(web, GOOD_ROWS, by="root")
    admin = web.signed_in("root")
    page = admin.get(f"/batches/{batch_id}")
    assert ">Approve<" not in page.text and "another approver" in page.text
    assert decide(admin, batch_id, "approve").status_code == 403
    assert not web.store.approvals(batch_id)
    assert decide(web.signed_in("ada"), batch_id, "approve").status_code == 303


# --- uploads -------------------------------------------------------------------------------------


def test_an_upload_over_the_cap_is_refused(web: Web) -> None:
    client = web.signed_in("pat")
    big = ledger(GOOD_ROWS) + b"#" * (2 << 20)
    answer = upload(client, "payouts", "big.csv", big)
    assert answer.status_code == 413
    assert "limited to" in answer.text or "larger than" in answer.text


def test_a_body_without_a_length_is_counted_and_cut(web: Web) -> None:
    import anyio
    from starlette.types import Message, Scope

    from ledgerrun.web.security import BodyLimit

    seen: list[int] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[Message] = []
    chunks = iter([b"x" * 600, b"x" * 600, b"x" * 600])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "headers": []}
    anyio.run(BodyLimit(inner, 1000), scope, receive, send)
    assert sent[0]["status"] == 413 and sum(seen) <= 1000


def test_uploads_are_kept_by_hash_never_by_the_clients_name(web: Web) -> None:
    client = web.signed_in("pat")
    data = ledger(GOOD_ROWS)
    answer = upload(client, "payouts", "../../../etc/evil name.csv", data)
    assert answer.status_code == 303
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    assert (web.config.uploads / f"{sha}.csv").read_bytes() == data
    assert not list(web.config.uploads.parent.rglob("evil*"))
    page = client.get(answer.headers["location"])
    assert "evil name.csv" in page.text
    refused = upload(client, "payouts", "ledger.exe", data)
    assert refused.status_code == 400 and ".csv, .xlsx or .parquet" in refused.text


def test_a_zip_bomb_is_refused_by_the_same_reader_as_the_cli(web: Web, tmp_path: Path) -> None:
    import zipfile

    from tests.ingest.test_read_xlsx import book_with, write_zip

    source = book_with(tmp_path, [["adjustment_id", "account", "amount", "currency"],
                                  ["A", "acct_1A", 1, "usd"]])  # fmt: skip
    with zipfile.ZipFile(source) as z:
        parts = {n: (0, z.read(n), z.getinfo(n).file_size) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = (0, parts[name][1], 1 << 30)  # says it unpacks to 1 GiB
    bomb = tmp_path / "bomb.xlsx"
    write_zip(bomb, parts)
    client = web.signed_in("pat")
    answer = upload(client, "payouts", "bomb.xlsx", bomb.read_bytes())
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "Has problems" in page.text and "unreadable file" in page.text
    assert "MiB" in page.text


def test_every_ledger_value_is_escaped(web: Web) -> None:
    evil = "<script>alert(1)</script>"
    header = "adjustment_id,account,amount,currency,method,description,metadata.invoice,note"
    rows = [f'"{evil}",acct_1ConnAA000000,1.00,usd,,"{evil}","{evil}","{evil}"',
            f'X-2,"{evil}",1.00,usd,,d,i,"<img src=x onerror=alert(1)>"']  # fmt: skip
    client = web.signed_in("pat")
    answer = upload(client, "payouts", "<img src=x onerror=alert(2)>.csv", ledger(rows, header))
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert evil not in page.text and "<img src=x" not in page.text
    batches = client.get("/batches")
    assert "<img src=x" not in batches.text and "&lt;img src=x onerror=alert(2)&gt;" in batches.text


# --- the flow: problems, approval, run, downloads, audit -----------------------------------------


def test_problems_sit_on_their_cells_and_problem_rows_can_be_filtered(web: Web) -> None:
    batch_id = new_batch(web, BAD_ROWS)
    client = web.signed_in("pat")
    page = client.get(f"/batches/{batch_id}")
    assert "Has problems" in page.text
    cells = re.findall(
        r'<tr data-row="(\d+)"[^>]*>.*?</tr>', page.text, flags=re.S
    )  # row numbers as the spreadsheet shows them: header on 1, data from 2
    assert cells == ["2", "3", "4", "5"]
    row3 = re.search(r'<tr data-row="3".*?</tr>', page.text, flags=re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'<td class="bad" data-column="amount">.*?bad amount', row3, flags=re.S)
    row4 = re.search(r'<tr data-row="4".*?</tr>', page.text, flags=re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'<td class="bad" data-column="account">.*?bad account', row4, flags=re.S)
    only = client.get(f"/batches/{batch_id}?only=problems")
    assert re.findall(r'<tr data-row="(\d+)"', only.text) == ["3", "4"]
    approver = web.signed_in("ada")
    assert ">Approve<" not in approver.get(f"/batches/{batch_id}").text
    assert decide(approver, batch_id, "approve").status_code == 409


def test_an_approval_binds_the_plan_shown(web: Web) -> None:
    batch_id = new_batch(web, GOOD_ROWS)
    approver = web.signed_in("ada")
    stale = decide(approver, batch_id, "approve", plan="0" * 64)
    assert stale.status_code == 409 and "Reload" in stale.text
    assert decide(approver, batch_id, "approve", sha256="f" * 64).status_code == 409
    assert not web.store.approvals(batch_id)


def test_a_batch_runs_only_once_approved_then_moves_exactly_the_approved_money(web: Web) -> None:
    rows = [r.replace("W-", "R-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows)
    web.work()  # the check with Stripe
    preparer = web.signed_in("pat")
    page = preparer.get(f"/batches/{batch_id}")
    assert ">Run<" not in page.text
    csrf = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    assert preparer.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 409
    assert "Covered" in page.text  # balances looked up by the worker's check
    assert "1,000.50" in page.text and "1,022.75" in page.text  # the debits' total
    approver = web.signed_in("ada")
    assert decide(approver, batch_id, "approve").status_code == 303
    approval = web.store.approval_for("payouts", web.store.batch(batch_id).sha256)  # type: ignore[union-attr]
    assert approval is not None and approval.totals["debits"] == {"usd": 102275}
    page = preparer.get(f"/batches/{batch_id}")
    assert ">Run<" in page.text
    started = preparer.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    assert started.status_code == 303
    work_path = started.headers["location"]
    before = preparer.get(f"{work_path}/progress").json()
    assert before["state"] == "queued" and before["finished"] is False
    assert web.work() == 1
    progress = preparer.get(f"{work_path}/progress").json()
    assert progress["finished"] and progress["exit_code"] == 0
    assert progress["done"] == 4 and progress["succeeded"] == 4
    assert debits(state(web.sandbox_url), "payouts") == {f"R-{i}": 1 for i in range(1, 5)}
    page = preparer.get(work_path)
    assert "Download results (CSV)" in page.text and "Download results (XLSX)" in page.text
    as_csv = preparer.get(f"{work_path}/results.csv")
    assert as_csv.status_code == 200 and "attachment" in as_csv.headers["content-disposition"]
    rows_csv = list(csv.DictReader(io.StringIO(as_csv.text)))
    as_xlsx = preparer.get(f"{work_path}/results.xlsx")
    assert as_xlsx.status_code == 200 and as_xlsx.content[:2] == b"PK"
    rows_xlsx = xlsx_rows(as_xlsx.content)
    assert [r["adjustment_id"] for r in rows_csv] == [f"R-{i}" for i in range(1, 5)]
    assert [(r["adjustment_id"], r["status"], r["transfer_id"]) for r in rows_csv] == [
        (r["adjustment_id"], r["status"], r["transfer_id"]) for r in rows_xlsx
    ]
    report = preparer.get(f"{work_path}/report")
    assert report.status_code == 200 and "Run report" in report.text
    assert "script-src 'none'" in report.headers["content-security-policy"]
    # running again sends nothing more: the page offers no Run, a forged one is refused
    assert ">Run<" not in preparer.get(f"/batches/{batch_id}").text
    assert preparer.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 409
    # reconcile from the batch page
    assert (
        preparer.post(f"/batches/{batch_id}/reconcile", data={"csrf_token": csrf}).status_code
        == 303
    )
    assert web.work() == 1
    page = preparer.get(f"/batches/{batch_id}")
    assert "Stripe&#39;s records agree" in page.text or "Stripe's records agree" in page.text
    # the key is in no page or download
    for answer in (page, as_csv, report, preparer.get(work_path), preparer.get("/audit")):
        assert KEY not in answer.text
    assert KEY.encode() not in as_xlsx.content
    actions = [e.action for e in web.store.audit_events(limit=500) if e.batch_id == batch_id]
    for action in ("upload", "approve", "run", "run_end", "download", "reconcile"):
        assert action in actions, action


def test_a_run_that_finds_the_job_locked_ends_with_exit_4_on_the_page(web: Web) -> None:
    from tests.helpers.cli import held_by_another_process

    rows = [r.replace("W-", "L-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="fees")  # a job without approval
    client = web.signed_in("pat")
    csrf = token(client, f"/batches/{batch_id}")
    code = (
        "import sys\nfrom ledgerrun.store import open_store\nopen_store(sys.argv[1]).lock('fees')"
    )
    with held_by_another_process(code, Path(web.config.store)):
        started = client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
        assert started.status_code == 303
        web.work()
    page = client.get(started.headers["location"])
    assert "exit code 4" in page.text and "another run" in page.text.lower()
    listed = client.get("/batches").text  # how the run ended, never "Approved" or "Ready"
    assert "Run did not start: the job was busy" in listed
    assert debits(state(web.sandbox_url), "fees") == {}
    assert ">Run<" in client.get(f"/batches/{batch_id}").text  # may be run again


def test_the_audit_trail_records_and_cannot_be_edited(web: Web) -> None:
    client = web.signed_in("root")
    page = client.get("/audit")
    assert page.status_code == 200
    assert "Signed in" in page.text and "Uploaded" in page.text
    main = page.text.split("<main>", 1)[1]
    assert 'method="post"' not in main  # a search form only: nothing that changes the trail
    assert client.post("/audit", data={}).status_code == 405
    before = len(web.store.audit_events(limit=10_000))
    client.get("/audit")
    assert len(web.store.audit_events(limit=10_000)) == before


def test_proxy_mode_trusts_the_header_only_from_the_proxy(web: Web, tmp_path: Path) -> None:
    extra = 'auth = "proxy"\nproxy_header = "X-Remote-User"\nproxy_addresses = ["testclient"]'
    config = load_config(make_site(tmp_path, web.sandbox_url, serve_extra=extra))
    store = open_store(config.store)
    try:
        add_user(store, "sso-user", "approver")
        client = TestClient(
            create_app(config, store=store, env=env(), worker=False), follow_redirects=False
        )
        assert client.get("/batches", headers={"X-Remote-User": "sso-user"}).status_code == 200
        assert client.get("/batches", headers={"X-Remote-User": "nobody"}).status_code == 403
        assert client.get("/batches").status_code == 403
        untrusted = load_config(
            make_site(
                tmp_path / "b", web.sandbox_url, serve_extra=extra.replace("testclient", "10.9.9.9")
            )
        )
        other = TestClient(
            create_app(untrusted, store=store, env=env(), worker=False), follow_redirects=False
        )
        assert other.get("/batches", headers={"X-Remote-User": "sso-user"}).status_code == 403
        assert (
            other.get("/work/1-a/results.csv", headers={"X-Remote-User": "sso-user"}).status_code
            == 401
        )
        assert any(e.action == "sign_in" and e.user == "sso-user" for e in store.audit_events())
    finally:
        store.close()


def test_users_are_managed_from_the_command_line(tmp_path: Path, web: Web) -> None:
    import subprocess
    import sys

    from tests.web.site import cli_add_user

    config = make_site(tmp_path, web.sandbox_url)
    cli_add_user(config, "lena", "approver", "a long enough password")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "ledgerrun", "users", *a, "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    listed = run("list")
    assert listed.returncode == 0 and "lena\tapprover\tenabled" in listed.stdout
    assert run("disable", "lena").returncode == 0
    assert "lena\tapprover\tdisabled" in run("list").stdout
    store = open_store(load_config(config).store)
    try:
        user = store.user("lena")
        assert user is not None and user.password_hash.startswith("$argon2")
        assert "a long enough password" not in user.password_hash
    finally:
        store.close()
    short = subprocess.run(
        [sys.executable, "-m", "ledgerrun", "users", "add", "x", "--role", "admin", "--config",
         str(config), "--password-stdin"], input="short\n", capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert short.returncode == 2 and "at least 8" in short.stderr


def test_a_dead_workers_run_is_taken_over_by_another_worker_and_finishes_once(web: Web) -> None:
    rows = [r.replace("W-", "D-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="fees")
    web.work()
    client = web.signed_in("pat")
    csrf = token(client, f"/batches/{batch_id}")
    started = client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    work_id = started.headers["location"].rsplit("/", 1)[-1]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    taken = web.store.claim_work("other-host:4242:dead", long_ago)  # its lease ran out long ago
    assert taken is not None and taken.work_id == work_id
    assert web.store.renew_lease(work_id, "someone-else", dt.datetime.now(dt.UTC)) is False
    web.work()  # any worker: it takes the item over and carries the run on
    item = web.store.work_item(work_id)
    assert item is not None and item.state == "done" and item.exit_code == 0
    assert [e["event"] for e in item.history] == ["started", "taken_over"]
    assert item.history[-1]["from"] == "other-host:4242:dead"
    page = client.get(f"/work/{work_id}").text
    assert "Taken over" in page and "other-host:4242:dead" in page
    debited = [t for t in state(web.sandbox_url)["transfers"]
               if t["metadata"].get("ledgerrun_adjustment_id", "").startswith("D-")]  # fmt: skip
    assert len(debited) == len(rows)


@pytest.mark.parametrize("after_start", [False, True], ids=["before-sending", "while-sending"])
def test_a_worker_whose_run_crashes_says_whether_money_may_have_moved(
    web: Web, monkeypatch: pytest.MonkeyPatch, after_start: bool
) -> None:
    """A bug in the run (not an expected condition): exit 3 ("incomplete, run it again") once
    the run was recorded and may have sent, exit 2 only before anything could have moved."""
    from ledgerrun.events import Events, RunStart
    from ledgerrun.send import runner

    def crashing_run(job: Any, *, events: Events, **options: Any) -> Any:
        if after_start:
            events.emit(RunStart(job=job.name, run_id="run-x", ledger="l", ledger_sha256="0",
                                 rows=4, dry_run=False, mode="sandbox"))  # fmt: skip
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "run_job", crashing_run)
    rows = [r.replace("W-", f"C{int(after_start)}-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="fees")
    web.work()
    client = web.signed_in("pat")
    csrf = token(client, f"/batches/{batch_id}")
    started = client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    work_id = started.headers["location"].rsplit("/", 1)[-1]
    web.work()
    item = web.store.work_item(work_id)
    assert item is not None and item.state == "failed" and "a bug" in item.message
    assert item.exit_code == (3 if after_start else 2)


def reversals_of(url: str, ids: set[str]) -> dict[str, tuple[int, int, int]]:
    """adjustment id -> (amount, amount reversed, reversals) in the sandbox's books."""
    out = {}
    for t in state(url)["transfers"]:
        found = t["metadata"].get("ledgerrun_adjustment_id")
        if found in ids:
            out[found] = (t["amount"], t["amount_reversed"], len(t["reversals"]["data"]))
    return out


def test_a_reversal_from_the_batch_page_is_a_dry_run_first_then_exactly_once(web: Web) -> None:
    rows = [r.replace("W-", "V-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="fees")
    web.work()
    preparer = web.signed_in("pat")
    csrf = token(preparer, f"/batches/{batch_id}")
    assert preparer.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 303
    web.work()
    ids = {f"V-{i}" for i in range(1, 5)}
    assert {k: v[1:] for k, v in reversals_of(web.sandbox_url, ids).items()} == {
        i: (0, 0) for i in ids
    }
    # a preparer may not reverse; an approver must dry-run first
    form = {"csrf_token": csrf, "scope": "all", "mode": "dry_run"}
    assert preparer.post(f"/batches/{batch_id}/reverse", data=form).status_code == 403
    approver = web.signed_in("ada")
    csrf = token(approver, f"/batches/{batch_id}")
    chosen = {"csrf_token": csrf, "scope": "chosen", "ids": "V-2\nV-3", "reason": "refund"}
    early = approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "reverse"})
    assert early.status_code == 409 and "Dry run first" in early.text
    other = {**chosen, "ids": "V-2\nnot-in-the-batch"}
    assert approver.post(f"/batches/{batch_id}/reverse", data=other).status_code == 400
    dry = approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "dry_run"})
    assert dry.status_code == 303
    web.work()
    assert all(v[2] == 0 for v in reversals_of(web.sandbox_url, ids).values())  # nothing yet
    page = approver.get(f"/batches/{batch_id}")
    assert ">Reverse<" in page.text and "V-2" in page.text
    done = approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "reverse"})
    assert done.status_code == 303
    web.work()
    books = reversals_of(web.sandbox_url, ids)
    assert books["V-2"] == (100050, 100050, 1) and books["V-3"] == (500, 500, 1)
    assert books["V-1"][1:] == (0, 0) and books["V-4"][1:] == (0, 0)
    # the same reversal again: refused without a new dry run, and with one it reverses nothing
    again = approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "reverse"})
    assert again.status_code == 409
    approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "dry_run"})
    web.work()
    approver.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "reverse"})
    web.work()
    assert reversals_of(web.sandbox_url, ids) == books
    actions = [e.action for e in web.store.audit_events(limit=500) if e.batch_id == batch_id]
    assert "reverse_dry_run" in actions and "reverse" in actions and "reverse_end" in actions
