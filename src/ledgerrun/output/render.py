"""The one Jinja2 environment every HTML page of ledgerrun is rendered with.

:func:`environment` is shared by the run report and the web application: autoescaping is on for
every ``.html``, ``.htm``, ``.xml`` and ``.j2`` template (and for templates made from strings),
an undefined name is an error rather than an empty string (``StrictUndefined``), and the same
filters format money, counts and times everywhere. The web application passes its own loader;
the package's templates stay reachable behind it, so its layouts can include the report's body
(``report_body.html.j2``) and its styles.

Ledgers come from outside: nothing from a ledger, a summary or Stripe is ever marked safe. The
only markup that skips escaping is the package's own (its stylesheet and script, read through the
loader) and what the filters below build from escaped pieces.

Templates are compiled once, on first use, and the compiled code is kept by Jinja2's own
bytecode cache (:class:`jinja2.FileSystemBytecodeCache`, in the user's private cache folder
Jinja2 makes in the temporary directory), keyed by each template's source, so a changed
template is compiled afresh. Compiling the report's templates is 40 ms of CPU, every run; loading
them from the cache 2 ms (docs/benchmarks.md, "Start-up"). A cache that cannot be read or
written is simply not used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from ledgerrun import money
from ledgerrun.vocab import money_text

TEMPLATE_PACKAGE = "ledgerrun.output"
TEMPLATE_FOLDER = "templates"
AUTOESCAPED = ("html", "htm", "xml", "j2")
# Where a long id may break: after _ - / @ (acct_1N..., req_..., a/b/c paths), and after 24
# characters without one. Matched in the escaped text, where an entity (&lt;) is one character.
_BREAKS = re.compile(r"(?:&#?\w+;|[^_\-/@&]){24}(?=[^_\-/@])|[_\-/@](?=.)", re.S)


def environment(*loaders: BaseLoader) -> Environment:
    """A new environment: the given loaders first, then the package's own templates."""
    env = Environment(
        loader=ChoiceLoader([*loaders, PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER)]),
        autoescape=select_autoescape(
            enabled_extensions=AUTOESCAPED, default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(FILTERS)
    env.globals["stylesheet"] = _inline(env, "</style")
    env.globals["script"] = _inline(env, "</script")
    return env


class TemplateCache(FileSystemBytecodeCache):
    """Jinja2's cache of compiled templates, where a failure to read or write only means the
    template is compiled again: a page is never lost to its cache."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    try:
        return TemplateCache()  # Jinja2's private folder for this user, made if missing
    except (OSError, RuntimeError):  # no safe folder: compile every time
        return None


def money_filter(minor: int | None, currency: str) -> str:
    """``money(127112, 'usd')`` -> ``'1,271.12 USD'``; an unknown currency shows its minor
    units; no amount is ``'—'``."""
    if minor is None:
        return "—"
    return money_text(int(minor), currency)


def major(minor: int | None, currency: str) -> str:
    """The number alone, for a column whose currency is said elsewhere: ``'1,271.12'``."""
    if minor is None:
        return "—"
    try:
        exp = money.exponent(currency)
    except KeyError:
        return f"{int(minor):,}"
    return money.format_major(int(minor), exp, grouping=True)


def sort_value(minor: int | None, currency: str) -> str:
    """An amount as a plain decimal number a script can sort by (``'1271.12'``)."""
    if minor is None:
        return ""
    try:
        exp = money.exponent(currency)
    except KeyError:
        exp = 0
    return money.format_major(int(minor), exp)


def count(value: int | None) -> str:
    """``12345`` -> ``'12,345'``."""
    return "—" if value is None else f"{int(value):,}"


def when(stamp: object) -> str:
    """An ISO timestamp as a person reads it: ``'2026-11-26 02:14:07 UTC'``."""
    if not stamp:
        return "—"
    text = str(stamp)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def breakable(value: object) -> Markup:
    """A long id, escaped, with ``<wbr>`` where a line may break: after ``_ - / @`` and within
    any run of more than 24 characters without one. Copying the text copies no breaks."""
    text = str(escape("" if value is None else str(value)))
    return Markup(_BREAKS.sub(r"\g<0><wbr>", text))


def plural(number: int, noun: str, many: str | None = None) -> str:
    """``plural(1, 'row')`` -> ``'1 row'``; ``plural(3, 'row')`` -> ``'3 rows'``."""
    return f"{number:,} {noun if number == 1 else many or noun + 's'}"


FILTERS: dict[str, Callable[..., Any]] = {
    "money": money_filter,
    "major": major,
    "sort_value": sort_value,
    "count": count,
    "when": when,
    "breakable": breakable,
    "plural": plural,
}


def _inline(env: Environment, closer: str) -> Callable[[str], Markup]:
    """A global that puts one of the loader's files (a stylesheet, a script) into the page as it
    is. Those files are the package's or the application's own, never data; one that could close
    its element early is refused."""

    def read(name: str) -> Markup:
        assert env.loader is not None
        source = env.loader.get_source(env, name)[0]
        if closer in source.lower():
            raise ValueError(f"{name} contains {closer!r}: it cannot be inlined")
        return Markup(source)

    return read
