"""``ledgerrun serve``: the web application for finance staff, over the same jobs and store."""

from __future__ import annotations

from pathlib import Path

import click

from ledgerrun.cli._common import config_option, configure_logging, global_options, reports_errors


@click.command()
@config_option("The server's configuration ([serve] table: jobs, store, uploads, sign-in).")
@click.option("--host", help="Listen on this address instead of the configuration's.")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Listen on this port (0: pick a free one)."
)
@global_options
@reports_errors
def serve(config_path: Path, host: str | None, port: int | None) -> None:
    """Start the web application: upload ledgers, review and approve them (four eyes), run
    them with live progress, download results, reconcile; with an audit trail.

    The first line on standard output is `listening on http://HOST:PORT`. The Stripe key is read
    from the environment variable each job names, as for `ledgerrun run`; sessions are signed
    with the key in the variable the configuration names (secret_key_env), else with a random
    key made at each start (everyone is signed out by a restart). Stop it with Ctrl-C or
    SIGTERM: a run in progress finishes the requests in flight and stops (run it again later:
    nothing is sent twice).
    """
    import dataclasses
    import logging
    import socket
    import sys

    import uvicorn

    from ledgerrun.web.app import create_app
    from ledgerrun.web.config import load_config

    config = load_config(config_path)
    if host is not None:
        config = dataclasses.replace(config, host=host)
    if port is not None:
        config = dataclasses.replace(config, port=port)
    configure_logging(logging.INFO)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        from ledgerrun.errors import ConfigError

        raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    bound_host, bound_port = sock.getsockname()[:2]
    app = create_app(config)
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    click.echo(f"listening on http://{shown_host}:{bound_port}")
    sys.stdout.flush()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=True,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=30,
        )
    )
    server.run(sockets=[sock])
