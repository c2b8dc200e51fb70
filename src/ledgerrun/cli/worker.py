"""``ledgerrun worker``: do the web application's queued runs in a process of their own."""

from __future__ import annotations

from pathlib import Path

import click

from ledgerrun.cli._common import (
    config_option,
    configure_logging,
    global_options,
    reports_errors,
    say,
)


@click.command()
@config_option("The server's configuration: the worker uses its jobs, store and uploads.")
@click.option("--once", is_flag=True, help="Do the work queued now, then exit.")
@global_options
@reports_errors
def worker(config_path: Path, once: bool) -> None:
    """Take runs, checks and reconciliations queued from the web pages and do them, as the
    server's own worker thread would (set worker_thread = false in [serve] to leave all work to
    such processes, on this host or on others sharing a PostgreSQL store).

    The first Ctrl-C or SIGTERM finishes the requests in flight and stops; a run cut short is
    completed by running it again (nothing is sent twice).
    """
    import logging
    import signal
    import threading

    from ledgerrun.store import open_store
    from ledgerrun.web.config import load_config
    from ledgerrun.web.worker import Worker

    config = load_config(config_path)
    store = open_store(config.store)
    work = Worker(config, store)
    configure_logging(logging.INFO)
    say(f"worker {work.name} on {config.path.name}", level="info")

    def stop(signum: int, frame: object) -> None:
        if work.stop.is_set():
            work.hard_stop.set()
        work.stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    try:
        if once:
            while work.step():
                pass
        else:
            work.loop()
    finally:
        store.close()
