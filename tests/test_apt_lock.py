"""What `make test` installs from the machine's packages (Chromium, PostgreSQL) waits for another
apt holding the package manager's lock, rather than failing at once.

A fake ``apt-get`` stands in for the real one: like apt, it fails at once with "Could not get
lock" while the lock is held, unless it was told to wait (``-o DPkg::Lock::Timeout=N``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FAKE_APT = """#!/bin/sh
echo "$*" >> "$APT_LOG"
case "$*" in
    *DPkg::Lock::Timeout=*) ;;
    *) echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242" >&2
       exit 100 ;;
esac
case "$*" in
    *install*chromium*) mkdir -p "$(dirname "$LEDGERRUN_CHROMIUM")"
                        printf '#!/bin/sh\\n' > "$LEDGERRUN_CHROMIUM"
                        chmod +x "$LEDGERRUN_CHROMIUM" ;;
esac
exit 0
"""


def fake_bin(tmp_path: Path, **programs: str) -> dict[str, str]:
    """A folder of fake programs first on PATH, and the environment to run with it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, script in {"apt-get": FAKE_APT, "sudo": '#!/bin/sh\nexec "$@"\n', **programs}.items():
        path = folder / name
        path.write_text(script)
        path.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "APT_LOG": str(tmp_path / "apt.log"),
        "LEDGERRUN_CHROMIUM": str(tmp_path / "usr" / "bin" / "chromium"),
    }


def apt_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def test_ensure_chromium_waits_for_the_package_managers_lock(tmp_path: Path) -> None:
    env = fake_bin(tmp_path)
    done = subprocess.run(
        ["sh", str(ROOT / "tools" / "ensure_chromium.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls = apt_calls(tmp_path)
    assert calls and all("-o DPkg::Lock::Timeout=600" in call for call in calls), calls
    assert any("install -y chromium" in call for call in calls), calls
    assert os.access(env["LEDGERRUN_CHROMIUM"], os.X_OK)


def test_ensure_chromium_does_nothing_when_chromium_is_there(tmp_path: Path) -> None:
    env = fake_bin(tmp_path)
    chromium = Path(env["LEDGERRUN_CHROMIUM"])
    chromium.parent.mkdir(parents=True)
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    done = subprocess.run(
        ["sh", str(ROOT / "tools" / "ensure_chromium.sh")], env=env, capture_output=True
    )
    assert done.returncode == 0 and apt_calls(tmp_path) == []


def test_make_postgresql_waits_for_the_package_managers_lock(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    # `ls` finds no PostgreSQL, so the target installs it through the fake apt-get.
    env = fake_bin(tmp_path, ls="#!/bin/sh\nexit 2\n")
    done = subprocess.run(
        ["make", "--no-print-directory", "postgresql"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    calls = apt_calls(tmp_path)
    assert len(calls) == 2 and all("-o DPkg::Lock::Timeout=600" in c for c in calls), calls
    assert "install" in calls[1] and "postgresql" in calls[1]
