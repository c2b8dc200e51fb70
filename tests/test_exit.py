"""How the executable ends: with the command's exit code, all of its output and every exit
handler run, without the interpreter's teardown (``ledgerrun.startup.leave``); the ordinary
way whenever a thread is still running or the output cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# stdout block-buffered, as a user's pipe or file is: what is left in the buffer must come out
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

ENTRY = """
import atexit, sys
atexit.register(lambda: print("handler registered before the command ran", flush=True))
sys.argv = ["ledgerrun", *sys.argv[1:]]
from ledgerrun.cli import entry
entry()
"""

# A thread reads stdin to its end, then writes: ``leave`` must wait for it (the test closes
# stdin only once the main thread has said it is leaving).
THREAD = """
import sys, threading
from ledgerrun.startup import leave
def reader():
    sys.stdin.read()
    print("the thread finished", flush=True)
threading.Thread(target=reader).start()
print("leaving", flush=True)
leave(5)
"""

# The main thread has output in stdout's buffer when it leaves, and the reader of stdout has
# gone: the process must say so and exit non-zero, as Python does.
CLOSED = """
import sys
from ledgerrun.startup import leave
sys.stdout.write("never read")
sys.stderr.write("ready\\n")
sys.stderr.flush()
sys.stdin.read()
leave(0)
"""


def _ledger(tmp_path: Path, rows: int) -> Path:
    lines = ["adjustment_id,account,amount,currency"]
    lines += [f"bad-{i},not-an-account,-1,usd" for i in range(rows)]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_command_ends_with_its_code_all_its_output_and_every_exit_handler(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path, 400)
    command = ["validate", "--offline", "--format", "json", str(ledger)]
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=BUFFERED,
    )
    full = subprocess.run(
        [Path(sys.executable).parent / "ledgerrun", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=BUFFERED,
    )
    assert done.returncode == full.returncode != 0, done.stderr
    assert done.stdout.endswith("handler registered before the command ran\n")
    said = done.stdout.removesuffix("handler registered before the command ran\n")
    assert said == full.stdout and '"row": 401' in said, said[-500:]  # the last row's
    assert "Traceback" not in done.stderr + full.stderr


def _piped(script: str) -> subprocess.Popen[str]:
    """``script`` in a process of its own, its stdin, stdout and stderr pipes of this one."""
    pipe = subprocess.PIPE
    argv = [sys.executable, "-c", script]
    return subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, text=True, env=BUFFERED)


def test_leaving_waits_for_a_thread_still_running() -> None:
    proc = _piped(THREAD)
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline() == "leaving\n"
    proc.stdin.close()  # only now can the thread finish
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 5, proc.stderr.read() if proc.stderr else ""
    assert out == "the thread finished\n"


def test_output_that_cannot_be_written_ends_the_ordinary_way_with_an_error() -> None:
    proc = _piped(CLOSED)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    assert proc.stderr.readline() == "ready\n"
    proc.stdout.close()  # nobody reads stdout any more
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 120, err  # Python's code for output lost at exit
    assert "BrokenPipeError" in err
