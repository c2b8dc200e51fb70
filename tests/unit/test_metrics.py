"""The [metrics] textfile: Prometheus gauges of each job's last run, several jobs in one file,
written atomically under a lock (ledgerrun.output.metrics)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledgerrun.errors import ConfigError
from ledgerrun.jobfile import load_job_file
from ledgerrun.output.metrics import HELP, LastRun, write_textfile
from tests.helpers.constants import ROOT, RUN_DATE

ENDED = dt.datetime(2026, 11, 26, 2, 15, 7, tzinfo=dt.UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(path: Path) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def of_job(found: Samples, job: str) -> Samples:
    return {k: v for k, v in found.items() if ("job", job) in k[1]}


def run(job: str, code: int = 0, **changes: object) -> LastRun:
    values: dict[str, object] = {
        "job": job,
        "exit_code": code,
        "ended_at": ENDED,
        "duration_s": 12.5,
        "counts": {"succeeded": 3, "failed": 1, "invalid": 0, "skipped": 0, "unknown": 0},
        "totals": {"usd": {"debit": {"requested": 1500, "succeeded": 1000, "failed": 500}}},
    }
    values.update(changes)
    return LastRun(**values)  # type: ignore[arg-type]


def test_the_gauges_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "ledgerrun.prom"
    write_textfile(path, run("nightly", 1))
    found = samples(path)
    assert found[("ledgerrun_rows", (("job", "nightly"), ("status", "succeeded")))] == 3
    assert found[("ledgerrun_rows", (("job", "nightly"), ("status", "unknown")))] == 0
    usd = (("currency", "usd"), ("direction", "debit"), ("job", "nightly"))
    assert found[("ledgerrun_amount_minor", (*usd, ("status", "failed")))] == 500
    assert found[("ledgerrun_amount_minor", (*usd, ("status", "requested")))] == 1500
    assert found[("ledgerrun_last_run_exit_code", (("job", "nightly"),))] == 1
    assert found[("ledgerrun_last_run_timestamp_seconds", (("job", "nightly"),))] == (
        ENDED.timestamp()
    )
    assert found[("ledgerrun_run_duration_seconds", (("job", "nightly"),))] == 12.5
    text = path.read_text()
    for name, help_text in HELP.items():
        assert f"# HELP {name} {help_text}" in text and f"# TYPE {name} gauge" in text


def test_two_jobs_in_one_file_keep_each_others_lines(tmp_path: Path) -> None:
    path = tmp_path / "ledgerrun.prom"
    write_textfile(path, run("nightly", 0))
    euro = {"eur": {"credit": {"requested": 700, "succeeded": 700}}}
    write_textfile(path, run("refunds", 1, totals=euro))
    before = of_job(samples(path), "refunds")
    # nightly runs again: its lines are replaced, refunds' stay exactly as they were.
    write_textfile(
        path, run("nightly", 3, counts={"succeeded": 1, "unknown": 2}, totals={}, duration_s=4)
    )
    after = samples(path)
    assert of_job(after, "refunds") == before
    nightly = of_job(after, "nightly")
    assert nightly[("ledgerrun_last_run_exit_code", (("job", "nightly"),))] == 3
    assert nightly[("ledgerrun_rows", (("job", "nightly"), ("status", "unknown")))] == 2
    assert nightly[("ledgerrun_rows", (("job", "nightly"), ("status", "failed")))] == 0
    assert not [k for k in nightly if k[0] == "ledgerrun_amount_minor"]  # no money this time
    # The last success is the first run's, kept through the failed one.
    assert nightly[("ledgerrun_last_success_timestamp_seconds", (("job", "nightly"),))] == (
        ENDED.timestamp()
    )
    assert ("ledgerrun_last_success_timestamp_seconds", (("job", "refunds"),)) not in after


def test_other_families_in_the_file_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "shared.prom"
    path.write_text(
        '# HELP backup_ok Whether the backup ran.\n# TYPE backup_ok gauge\nbackup_ok{host="a"} 1\n'
    )
    write_textfile(path, run("nightly"))
    found = samples(path)
    assert found[("backup_ok", (("host", "a"),))] == 1
    assert found[("ledgerrun_last_run_exit_code", (("job", "nightly"),))] == 0


def test_a_file_that_does_not_parse_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "ledgerrun.prom"
    path.write_text("this is { not the text format\n")
    write_textfile(path, run("nightly"))
    assert samples(path)[("ledgerrun_last_run_exit_code", (("job", "nightly"),))] == 0


def test_each_write_renames_a_complete_file_over_the_old_one(tmp_path: Path) -> None:
    """node_exporter may read at any moment: the file is replaced (a new inode each time), never
    written in place, and a reader racing the writer always sees a whole file."""
    path = tmp_path / "ledgerrun.prom"
    write_textfile(path, run("nightly"))
    inodes = {path.stat().st_ino}
    done = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not done.is_set():
            names = {f.name for f in text_string_to_metric_families(path.read_text())}
            seen.append(len(names))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(40):
            write_textfile(path, run(f"job-{n % 4}", n % 3))
            inodes.add(path.stat().st_ino)
    finally:
        done.set()
        thread.join()
    assert len(inodes) > 1  # replaced by rename, not rewritten in place
    assert seen and set(seen) == {len(HELP)}  # every read: every family, never half a file
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ledgerrun.prom.lock", "ledgerrun.prom"]


WRITER = """
import datetime as dt, sys
from pathlib import Path
from ledgerrun.output.metrics import LastRun, write_textfile
path, job = Path(sys.argv[1]), sys.argv[2]
for n in range(30):
    write_textfile(path, LastRun(job, n % 2, dt.datetime.now(dt.UTC), n, {"succeeded": n}, {}))
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledgerrun.prom"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), job], cwd=ROOT)
        for job in ("alpha", "beta")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    found = samples(path)
    for job in ("alpha", "beta"):
        assert found[("ledgerrun_rows", (("job", job), ("status", "succeeded")))] == 29
        assert found[("ledgerrun_last_run_exit_code", (("job", job),))] == 1


def test_a_folder_that_cannot_be_written_raises_oserror(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OSError):
        write_textfile(blocker / "ledgerrun.prom", run("nightly"))


# --- the job file's [metrics] table ---------------------------------------------------------------


def job_file(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "jobs" / "nightly.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'[job]\nname = "nightly"\nledger = "in.csv"\n\n[metrics]\n{table}\n')
    return path


def test_the_textfile_is_relative_to_the_job_file_and_may_name_the_job(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, 'textfile = "../metrics/{job}.prom"'), RUN_DATE)
    assert job.metrics_textfile == tmp_path / "metrics" / "nightly.prom"
    assert load_job_file(job_file(tmp_path, ""), RUN_DATE).metrics_textfile is None


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('textfile = "m-{date}.prom"', "{job} only"),
        ('textfile = "metrics.txt"', "ending in .prom"),
        ("textfile = 3", "'metrics.textfile' must be text"),
        ('file = "m.prom"', "unknown key 'metrics.file'"),
    ],
)
def test_a_wrong_metrics_table_names_its_key(tmp_path: Path, table: str, says: str) -> None:
    with pytest.raises(ConfigError, match="metrics") as caught:
        load_job_file(job_file(tmp_path, table), RUN_DATE)
    assert says in str(caught.value)


def test_the_lock_file_is_not_read_by_node_exporter(tmp_path: Path) -> None:
    """node_exporter's textfile collector reads *.prom only: the lock and temporary files are
    named so it never does."""
    write_textfile(tmp_path / "a.prom", run("nightly"))
    assert [p.name for p in tmp_path.glob("*.prom")] == ["a.prom"]
    assert os.path.exists(tmp_path / ".a.prom.lock")


def test_the_sample_in_the_docs_is_what_a_run_writes(tmp_path: Path) -> None:
    """docs/scheduling.md shows the file after a night with one failed row, zeros left out."""
    from tests.docs_support import DOCS, fenced_blocks

    text = (DOCS / "scheduling.md").read_text(encoding="utf-8")
    (shown,) = [b.lines for b in fenced_blocks(text) if b.lang == "text" and "ledgerrun_rows" in
                "\n".join(b.lines)]  # fmt: skip
    path = tmp_path / "ledgerrun.prom"
    totals = {"requested": 22731870, "succeeded": 22231970, "failed": 499900, "unknown": 0,
              "skipped": 0}  # fmt: skip
    write_textfile(
        path,
        LastRun(
            "nightly", 1, dt.datetime(2026, 11, 26, 2, 16, 41, tzinfo=dt.UTC), 14.2,
            {"succeeded": 239, "failed": 1, "invalid": 0, "skipped": 0, "unknown": 0},
            {"usd": {"debit": totals}},
        ),
    )  # fmt: skip
    written = [line for line in path.read_text().splitlines() if not line.endswith(" 0.0")]
    assert shown == written
