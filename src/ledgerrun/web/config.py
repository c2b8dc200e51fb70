"""``serve.toml``: where the web application finds its jobs, store and uploads, and how people
sign in. Relative paths are to the file itself. Every mistake is a ConfigError naming the key."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledgerrun.errors import ConfigError
from ledgerrun.job import ENV_RE, URL_PREFIXES
from ledgerrun.jobfile import read_toml
from ledgerrun.notify.settings import NotifySettings, read_notify

AUTH_MODES = ("local", "proxy")
DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8040,
    "jobs": "jobs",
    "store": "state/ledgerrun.sqlite",
    "uploads": "uploads",
    "auth": "local",
    "proxy_header": "X-Forwarded-User",
    "proxy_addresses": ["127.0.0.1"],
    "secret_key_env": "LEDGERRUN_SECRET_KEY",
    "max_upload_mb": 50,
    "session_minutes": 480,
    "https": False,
    "worker_thread": True,
    "allow_live": False,
    "work_lease_s": 30,
}


@dataclass(frozen=True)
class ServeConfig:
    """A checked ``[serve]`` table: every path absolute."""

    path: Path
    host: str
    port: int
    jobs: Path
    store: str  # a SQLite path (absolute) or a postgresql:// URL
    uploads: Path
    auth: str
    proxy_header: str
    proxy_addresses: tuple[str, ...]
    secret_key_env: str
    max_upload_mb: float
    session_minutes: int  # a session ends this long after sign-in
    https: bool  # served behind HTTPS: cookies get Secure
    worker_thread: bool  # run queued work in a thread of the server (else: `ledgerrun worker`)
    allow_live: bool  # let runs use a live key (sk_live_): real money
    work_lease_s: int = 30  # a dead worker's work is taken over by another within this
    notify: NotifySettings | None = None  # [notify]: told of batches and runs, for every job

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def _type_name(value: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text in quotes",
            list: "a list"}[type(value)]  # fmt: skip


def load_config(path: Path) -> ServeConfig:
    """Read and check ``path``; ConfigError names the offending key."""
    doc = read_toml(path, "server configuration")
    for table in doc:
        if table not in ("serve", "notify"):
            raise ConfigError(
                f"unknown table '{table}' in {path.name}: only [serve] and [notify] are read"
            )
    raw = doc.get("serve", {})
    if not isinstance(raw, dict):
        raise ConfigError("'serve' must be a table ([serve])")
    values = dict(DEFAULTS)
    for key, value in raw.items():
        if key not in DEFAULTS:
            raise ConfigError(f"unknown key 'serve.{key}'; known keys: {', '.join(DEFAULTS)}")
        default = DEFAULTS[key]
        ok = isinstance(value, type(default)) and isinstance(value, bool) == isinstance(
            default, bool
        )
        if isinstance(default, int | float) and not isinstance(default, bool):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            raise ConfigError(f"'serve.{key}' must be {_type_name(default)}, not {value!r}")
        values[key] = value
    base = path.parent.resolve()

    def where(key: str) -> Path:
        return Path(os.path.normpath(base / str(values[key])))

    store = str(values["store"])
    if not store.startswith(URL_PREFIXES):
        store = str(where("store"))
    if values["auth"] not in AUTH_MODES:
        raise ConfigError(f"'serve.auth' must be 'local' or 'proxy', not {values['auth']!r}")
    addresses = values["proxy_addresses"]
    if not all(isinstance(a, str) for a in addresses):
        raise ConfigError("'serve.proxy_addresses' must be a list of addresses in quotes")
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            if address != "testclient":  # the address Starlette's test client reports
                raise ConfigError(
                    f"'serve.proxy_addresses': {address!r} is not an IP address"
                ) from None
    if not ENV_RE.fullmatch(values["secret_key_env"]):
        raise ConfigError("'serve.secret_key_env' must name an environment variable")
    if not 0 < values["max_upload_mb"] <= 2048:
        raise ConfigError("'serve.max_upload_mb' must be above 0 and at most 2048")
    if not 0 <= values["port"] <= 65535:
        raise ConfigError("'serve.port' must be between 0 and 65535")
    if not 1 <= values["session_minutes"] <= 7 * 24 * 60:
        raise ConfigError("'serve.session_minutes' must be between 1 and 10080 (a week)")
    if not 2 <= values["work_lease_s"] <= 600:
        raise ConfigError("'serve.work_lease_s' must be between 2 and 600 seconds")
    if not str(values["proxy_header"]).strip():
        raise ConfigError("'serve.proxy_header' must name a header")
    return ServeConfig(
        path=path.resolve(),
        host=str(values["host"]),
        port=int(values["port"]),
        jobs=where("jobs"),
        store=store,
        uploads=where("uploads"),
        auth=str(values["auth"]),
        proxy_header=str(values["proxy_header"]).strip(),
        proxy_addresses=tuple(addresses),
        secret_key_env=str(values["secret_key_env"]),
        max_upload_mb=float(values["max_upload_mb"]),
        session_minutes=int(values["session_minutes"]),
        https=bool(values["https"]),
        worker_thread=bool(values["worker_thread"]),
        allow_live=bool(values["allow_live"]),
        work_lease_s=int(values["work_lease_s"]),
        notify=read_notify(doc.get("notify")),
    )
