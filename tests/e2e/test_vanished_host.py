"""A host that vanishes (its network gone, its process frozen: nothing closes its connection)
frees the run lock within seconds, through TCP keepalives on the server's side of the lock's
session, so cron on the other host can take over.

The vanishing host is a process in a network namespace of this test's making, joined to this
one by a veth pair on a link-local /30; cutting the pair leaves its connection to the server
open but dead, as a crashed or unplugged machine would. Needs root (network namespaces), which
the project's machines and CI are."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerrun.errors import LockHeldError
from ledgerrun.store import open_store
from tests.helpers.constants import ROOT
from tests.store.pg import with_schema
from tools import pgserver

pytestmark = pytest.mark.slow
HOST_SIDE, NS_SIDE, NETWORK = "169.254.231.1", "169.254.231.2", "169.254.231.0/30"
HOLD = """
import time
from ledgerrun.store import open_store
store = open_store({url!r})
store.lock("nightly")
print("locked", flush=True)
time.sleep(120)
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def other_host() -> Iterator[tuple[str, str]]:
    """A network namespace reachable at NS_SIDE; yields its name and the host-side link."""
    if os.geteuid() != 0:
        pytest.fail("this test makes a network namespace: run it as root (make test on CI)")
    tag = f"{os.getpid() % 100000}"
    ns, near, far = f"lrhost{tag}", f"lrh{tag}", f"lrn{tag}"
    ip("netns", "add", ns)
    try:
        ip("link", "add", near, "type", "veth", "peer", "name", far)
        ip("link", "set", far, "netns", ns)
        ip("addr", "add", f"{HOST_SIDE}/30", "dev", near)
        ip("link", "set", near, "up")
        ip("-n", ns, "addr", "add", f"{NS_SIDE}/30", "dev", far)
        ip("-n", ns, "link", "set", far, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, near
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("link", "del", near)
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("netns", "del", ns)


def test_a_vanished_lock_holder_frees_the_lock_within_seconds() -> None:
    with other_host() as (ns, link), tempfile.TemporaryDirectory(prefix="ledgerrun-pg-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        local = pgserver.start(folder, listen=(HOST_SIDE,), trust=(NETWORK,))
        try:
            local = with_schema(local, "public")
            remote = local.replace("@127.0.0.1:", f"@{HOST_SIDE}:")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
            holder = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", HOLD.format(url=remote)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )  # fmt: skip
            try:
                assert holder.stdout is not None
                line = holder.stdout.readline().strip()
                assert line == "locked", holder.stderr.read() if holder.stderr else ""
                with contextlib.closing(open_store(local)) as store:
                    with pytest.raises(LockHeldError, match=r"on host"):
                        store.lock("nightly")
                    holder.send_signal(signal.SIGSTOP)  # the host freezes...
                    ip("link", "del", link)  # ...and drops off the network
                    vanished = time.monotonic()
                    while True:
                        try:
                            store.lock("nightly")
                            break
                        except LockHeldError:
                            assert time.monotonic() - vanished < 15, "the lock was never freed"
                    freed = time.monotonic() - vanished
                    assert store.lock_holder("nightly") is None
                assert holder.poll() is None  # its process never closed anything: still there
                assert 2 < freed < 8, freed  # keepalives: at most 2 s idle, then 3 probes 1 s apart
                print(f"lock freed {freed:.1f} s after its host vanished")
            finally:
                holder.kill()
                holder.wait(timeout=10)
        finally:
            pgserver.stop(folder)
