"""What goes over the wire: form decoding, API keys, JSON bodies and HTTP dates.

Stripe v1 takes ``application/x-www-form-urlencoded`` bodies (and query strings for GET) with
bracket nesting: ``metadata[invoice]=42`` becomes ``{"metadata": {"invoice": "42"}}``,
``expand[]=a&expand[]=b`` a list, and ``expand[0]=a`` (what the Python SDK sends) a dict keyed
by index. Every decoded leaf is a string; the endpoint decides what it must parse as.
"""

from __future__ import annotations

import base64
import binascii
import json
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from ledgerrun_sandbox.errors import ApiError, invalid_request
from ledgerrun_sandbox.rules import KEY_PREFIXES

Params = dict[str, Any]

MAX_FIELDS = 1000


def decode_form(text: str) -> Params:
    """Decode a form body or query string into nested dicts and lists of strings.

    Raises ``ApiError`` (400 ``invalid_request_error``, no code) for a name that cannot be nested
    (``a[b``), for one name used both as a value and as a container, or for too many fields.
    """
    if not text:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError as exc:
        raise invalid_request(None, "The request body is not valid UTF-8.") from exc
    except ValueError as exc:
        raise invalid_request(None, f"Too many parameters (at most {MAX_FIELDS}).") from exc
    out: Params = {}
    for name, value in pairs:
        _insert(out, name, _split_name(name), value)
    return out


def _split_name(name: str) -> list[str]:
    """``"metadata[a][b]"`` -> ``["metadata", "a", "b"]``; ``"expand[]"`` -> ``["expand", ""]``."""
    head, sep, rest = name.partition("[")
    if not head or "]" in head:
        raise invalid_request(name or None, f"Invalid parameter name: {name!r}")
    parts = [head]
    if not sep:
        return parts
    rest = "[" + rest
    while rest:
        if not rest.startswith("[") or "]" not in rest:
            raise invalid_request(head, f"Invalid parameter name: {name!r}")
        inner, _, rest = rest[1:].partition("]")
        if "[" in inner:
            raise invalid_request(head, f"Invalid parameter name: {name!r}")
        parts.append(inner)
    return parts


def _insert(out: Params, name: str, parts: list[str], value: str) -> None:
    node: Any = out
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            raise invalid_request(parts[0], f"Invalid parameter name: {name!r}")
        if last:
            if isinstance(node.get(part), dict | list):
                raise invalid_request(parts[0], f"Parameter {name!r} is given twice as a hash.")
            node[part] = value
            return
        nxt = parts[depth + 1]
        child = node.get(part)
        if nxt == "":
            if depth + 1 != len(parts) - 1:
                raise invalid_request(parts[0], f"Invalid parameter name: {name!r}")
            if child is None:
                child = node[part] = []
            if not isinstance(child, list):
                raise invalid_request(parts[0], f"Parameter {name!r} mixes a list and a value.")
            child.append(value)
            return
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise invalid_request(parts[0], f"Parameter {name!r} mixes a hash and a value.")
        node = child


def api_key_from_authorization(header: str | None) -> str | None:
    """The API key in an ``Authorization`` header (Bearer, or Basic with the key as user)."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user = decoded.partition(":")[0]
        return user or None
    return None


def key_hint(key: str) -> str:
    """How an error message may show a key, as Stripe does: its kind, then stars, then its
    last four characters (``sk_test_****abcd``); never more, and no last four of a short key."""
    prefix = next((p for p in KEY_PREFIXES if key.startswith(p)), "")
    tail = key[-4:] if len(key) >= 12 else ""
    return f"{prefix}****{tail}"


def render_json(payload: Any) -> bytes:
    """A compact JSON body with a trailing newline (friendly to ``curl``)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def render_error(error: ApiError) -> bytes:
    return render_json(error.payload())


def http_date(timestamp: float) -> str:
    """An RFC 7231 ``Date`` header value for a unix time (the sandbox clock)."""
    return formatdate(timestamp, usegmt=True)


def decode_json_object(body: bytes) -> Params:
    """A JSON object body, for the ``/_sandbox/*`` helpers only."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_request(None, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise invalid_request(None, "The JSON body must be an object.")
    return value
