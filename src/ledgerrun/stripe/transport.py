"""The HTTP transport under the Stripe SDK: urllib3's connection pool behind the SDK's public
``stripe.HTTPClient`` interface.

The SDK signs, encodes and checks every request and reads every answer; this class only carries
the bytes. It is the cheapest of the candidates measured by ``benchmarks/transport.py``
(docs/benchmarks.md, "Transport"): the SDK's ``RequestsClient`` prepares a ``requests`` session
per request and looks the proxies up in the environment twice per request, which a batch of
thousands of requests to one address pays for thousands of times.

What it keeps of the usual behaviour:

* one pool of keep-alive connections to the API base, shared by every thread, sized to the
  command's concurrency (more threads than connections open extra ones, closed after use);
* one timeout, for connecting and for each read;
* no retries and no redirects (retries live in :mod:`ledgerrun.stripe.client`);
* TLS verified against the CA bundle the SDK ships (``stripe.ca_bundle_path``), loaded once;
* the proxy from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``,
  lower case first, as curl reads them), resolved once, when the transport is made: a batch
  talks to one address, so one answer holds for all its requests;
* answers compressed with gzip or deflate are accepted, as ``requests`` asks for them.

A request that gets no answer raises ``stripe.APIConnectionError`` with the urllib3 exception as
its cause; :mod:`ledgerrun.stripe.answers` reads from that cause whether anything was sent.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

import stripe
import urllib3
from urllib3.exceptions import HTTPError, ProxySchemeUnknown

from ledgerrun import errors

__all__ = ["PooledHTTPClient", "proxy_for"]

ACCEPT_ENCODING = "gzip, deflate"


class PooledHTTPClient(stripe.HTTPClient):
    """The SDK's HTTP client for one command (see the module docstring)."""

    name = "urllib3"

    def __init__(
        self,
        api_base: str,
        *,
        timeout_s: float,
        pool_size: int,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(api_base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.proxy = proxy_for(api_base, os.environ if environ is None else environ)
        options: dict[str, Any] = {
            "num_pools": 2,
            "maxsize": max(1, pool_size),
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=timeout_s, read=timeout_s),
        }
        if parts.scheme == "https":
            options["ssl_context"] = ssl.create_default_context(cafile=stripe.ca_bundle_path)
        self._manager: urllib3.PoolManager
        if self.proxy:
            self._manager = _proxy_manager(self.proxy, options)
            self._pool = None  # every request goes through the manager, to the proxy
        else:
            self._manager = urllib3.PoolManager(**options)
            self._pool = self._manager.connection_from_url(api_base)

    # The answer's body is bytes, as the SDK's own RequestsClient returns it (its base class
    # says str; the SDK decodes either).
    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        fields = {**(headers or {}), "Accept-Encoding": ACCEPT_ENCODING}
        verb = method.upper()
        try:
            if self._pool is not None and url.startswith(self.origin + "/"):
                # the API base's own pool: no URL to parse or pool to look up per request
                response = self._pool.urlopen(
                    verb,
                    url[len(self.origin) :],
                    body=body,
                    headers=fields,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                )
            else:
                response = self._manager.request(
                    verb, url, body=body, headers=fields, retries=False, redirect=False
                )
        except (HTTPError, OSError) as exc:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"no answer from {self.origin}: {exc}", should_retry=True
            ) from exc
        return response.data, response.status, response.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError("ledgerrun reads no streamed answers")

    def close(self) -> None:
        """Close every pooled connection."""
        self._manager.clear()


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy the environment names for ``url``, or None: ``<scheme>_proxy`` or
    ``all_proxy`` (lower case first, as curl and ``urllib`` read them), unless ``no_proxy``
    names the host."""
    found: dict[str, str] = {}
    for name, value in environ.items():
        key = name.lower()
        if value and key.endswith("_proxy") and (name == key or key not in found):
            found[key] = value
    parts = urllib.parse.urlsplit(url)
    if _bypassed(parts.hostname or "", parts.port, found.get("no_proxy") or ""):
        return None
    return found.get(f"{parts.scheme}_proxy") or found.get("all_proxy") or None


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``no_proxy`` (comma-separated: ``*``, host names and their domains, with or
    without a port, or address ranges such as ``10.0.0.0/8``) names the host."""
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if entry == "*":
            return True
        if not entry:
            continue
        if "/" in entry:
            if _in_network(host, entry):
                return True
            continue
        name, _, wanted = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if wanted and wanted != str(port):
            continue
        name = name.lstrip(".").strip("[]")
        if host.lower() == name or host.lower().endswith("." + name):
            return True
    return False


def _in_network(host: str, network: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _proxy_manager(proxy: str, options: dict[str, Any]) -> urllib3.PoolManager:
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    headers: dict[str, str] = {}
    if parts.username is not None:
        login = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        headers = urllib3.make_headers(proxy_basic_auth=f"{login}:{password}")
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    address = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    try:
        return urllib3.ProxyManager(address, proxy_headers=headers, **options)
    except (ProxySchemeUnknown, ValueError) as exc:
        raise errors.ConfigError(
            f"the proxy the environment names ({parts.scheme}://{parts.hostname}) cannot be "
            "used: only http:// and https:// proxies are supported"
        ) from exc
