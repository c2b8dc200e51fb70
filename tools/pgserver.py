"""A throwaway PostgreSQL server for the tests and benchmarks: the machine's own packages, a
temporary data directory, a free port on 127.0.0.1 (and a unix socket in the same directory).

    python tools/pgserver.py run [--durable] -- CMD ARGS...   start, run CMD, stop; CMD's exit code
    python tools/pgserver.py start DIR [--durable]            start in DIR (made), print its URL
    python tools/pgserver.py stop DIR                         stop it and delete DIR

``run`` exports the server's URL to CMD as ``LEDGERRUN_TEST_PG`` and stops the server however
CMD ends (failures, Ctrl-C, SIGTERM). PostgreSQL refuses to run as root, so as root the server
runs as the ``postgres`` user that Debian's package makes. Authentication is ``trust`` on
127.0.0.1, except for members of the role ``ledgerrun_password``, who must give a password (the
tests check that passwords are taken from PGPASSWORD and ~/.pgpass). Unless ``--durable``, the
server does not fsync: it is thrown away, and the tests run faster.

Standard library only, so that it runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "LEDGERRUN_TEST_PG"
DATABASE = "ledgerrun"
SUPERUSER = "postgres"
PASSWORD_GROUP = "ledgerrun_password"
HBA = f"""\
local all all trust
host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


class ServerError(Exception):
    pass


def bindir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian's layout), or $PG_BINDIR."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])

    def version(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if not found:
        raise ServerError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make test`,"
            " which installs it, or `apt-get install -y postgresql`"
        )
    return Path(found[-1]).parent


def _as_owner(argv: list[str]) -> list[str]:
    """As root, the command run as the postgres user (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SUPERUSER, "--", *argv]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(_as_owner(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServerError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def start(
    folder: Path, durable: bool = False, listen: tuple[str, ...] = (), trust: tuple[str, ...] = ()
) -> str:
    """Start a server in ``folder`` (made if missing); returns its URL (on 127.0.0.1). It also
    listens on the addresses ``listen`` and trusts the clients of the networks ``trust`` (test
    hosts in network namespaces of the test's own making)."""
    bins = bindir()
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    _run(
        [str(bins / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync", "--no-instructions"],
        "initdb",
    )  # fmt: skip
    settings = {
        "listen_addresses": "'" + ",".join(("127.0.0.1", *listen)) + "'",
        "unix_socket_directories": f"'{folder}'",
        "max_connections": "300",
        "shared_buffers": "64MB",
        "fsync": "on" if durable else "off",
        "full_page_writes": "on" if durable else "off",
        "synchronous_commit": "on",
        # A client (a run holding its lock) whose host vanishes is noticed within seconds.
        "tcp_keepalives_idle": "2",
        "tcp_keepalives_interval": "1",
        "tcp_keepalives_count": "3",
        "client_connection_check_interval": "1000",
        "logging_collector": "off",
        "log_min_messages": "warning",
    }
    conf = data / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
    (data / "pg_hba.conf").write_text(HBA + "".join(f"host all all {n} trust\n" for n in trust))
    for attempt in range(5):
        port = _free_port()
        try:
            _run(
                [str(bins / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
                 "-t", "30", "-o", f"-p {port}", "start"],
                "pg_ctl start",
            )  # fmt: skip
            break
        except ServerError:
            if attempt == 4:
                log = folder / "server.log"
                raise ServerError(
                    "the PostgreSQL server did not start: "
                    + (log.read_text()[-2000:] if log.exists() else "no log")
                ) from None
    psql = [str(bins / "psql"), "-h", str(folder), "-p", str(port), "-U", SUPERUSER, "-X", "-q"]
    _run(
        [*psql, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
         "-c", f"CREATE DATABASE {DATABASE}", "-c", f"CREATE ROLE {PASSWORD_GROUP} NOLOGIN"],
        "creating the test database",
    )  # fmt: skip
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    (folder / "url").write_text(url + "\n")
    return url


def restart(folder: Path) -> None:
    """Restart the server in ``folder`` at once, as a failover does: every session ends, and
    the server comes back on the same port."""
    data = folder / "data"
    _run(
        [str(bindir() / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-m",
         "immediate", "-w", "-t", "30", "restart"],
        "pg_ctl restart",
    )  # fmt: skip


def stop(folder: Path) -> None:
    """Stop the server in ``folder`` (at once: it is thrown away) and delete the folder."""
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(ServerError):
            _run([str(bindir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                 "pg_ctl stop")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(command: list[str], durable: bool = False) -> int:
    """Run ``command`` with a server's URL in $LEDGERRUN_TEST_PG; stop the server afterwards."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="ledgerrun-pg-"))
    os.chmod(folder, 0o755)
    try:
        began = time.monotonic()
        url = start(folder, durable)
        print(f"PostgreSQL test server at {url} ({time.monotonic() - began:.1f} s to start)")
        sys.stdout.flush()
        child = subprocess.Popen(command, env={**os.environ, ENV: url})
        try:
            return child.wait()
        except BaseException:
            child.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
            if child.poll() is None:
                child.kill()
            raise
    finally:
        stop(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_run = sub.add_parser("run", help="start, run a command, stop")
    p_run.add_argument("--durable", action="store_true", help="fsync like a real server")
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    p_start = sub.add_parser("start", help="start a server in DIR and print its URL")
    p_start.add_argument("dir", type=Path)
    p_start.add_argument("--durable", action="store_true")
    p_stop = sub.add_parser("stop", help="stop the server in DIR and delete DIR")
    p_stop.add_argument("dir", type=Path)
    args = parser.parse_args()
    try:
        if args.action == "run":
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not command:
                parser.error("run needs a command after --")
            return run(command, args.durable)
        if args.action == "start":
            print(start(args.dir, args.durable))
            return 0
        stop(args.dir)
        return 0
    except ServerError as exc:
        print(f"pgserver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
