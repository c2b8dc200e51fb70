"""The architecture, as a test: which part of src/ may import which, read with ``ast`` from the
source (lazy imports inside functions count too).

The layers of ``src/ledgerrun`` (the design notes' "layout that shows the pipeline"), each
importing only from the layers listed for it:

=============  ============================================================================
base           errors, vocab, clock, events, money, summary, job, jobfile, jobreading, target,
               approval_policy (a job's [approval] table and where a batch stands under it),
               startup, metadata_keys (ledgerrun's own Stripe metadata keys), and
               ``ledgerrun.stripe.facts`` (Stripe's rules, no SDK: any stage may read them);
               the package root only for ``__version__``. Imports only base.
ingest         read -> validate. Imports base.
stripe         facts, gateway, policy, client, session: the only users of the ``stripe`` SDK.
               Imports base (and ``ledgerrun_sandbox``, for the embedded sandbox).
store          the journal. Imports base.
output         results files, summaries, reports, logs, progress, metrics: presentation.
               Imports base only: no stage module (ingest, stripe, store, send, reconcile,
               cli). The stages hand it values to write.
notify         notifications (webhook, Slack, email), given plain values. Imports base only
               (``ledgerrun.notify.settings``, the ``[notify]`` table, is itself base).
send           plan, pre-flight, guard, execute, reverse, runner. Imports base, ingest,
               stripe, store, output.
reconcile      checks a run against Stripe's books. Imports base, ingest, stripe, store, send,
               output.
api            ``ledgerrun.validate / plan / run / reverse / reconcile`` (the package root and
               ``ledgerrun.api``). Anything but web and cli.
web            the web application. Anything but cli.
cli            thin commands. Anything; nothing in the library imports cli (only
               ``ledgerrun.__main__``).
=============  ============================================================================

Also: nothing outside ``src/ledgerrun/stripe/`` imports the ``stripe`` SDK; ``ledgerrun_sandbox``
imports nothing from ``ledgerrun`` (and only ``stripe`` and ``cli`` import the sandbox); no
module in src/ is over 400 lines.

Imports that break these rules today are listed in KNOWN_VIOLATIONS and OVERSIZED_FOR_NOW with
why; each list entry must still be needed (a fixed one fails the test until it is removed).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.constants import ROOT

SRC = ROOT / "src"
MAX_LINES = 400

BASE = "base"
LAYERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "errors",
            "vocab",
            "clock",
            "events",
            "money",
            "summary",
            "control_total",
            "job",
            "jobfile",
            "jobreading",
            "approval_policy",
            "startup",
            "scrub",
            "target",
            "metadata_keys",
            "compute",
        ),
        BASE,
    ),
    "stripe.facts": BASE,
    "notify.settings": BASE,
    "__version__": BASE,
    "ingest": "ingest",
    "stripe": "stripe",
    "store": "store",
    "send": "send",
    "reconcile": "reconcile",
    "output": "output",
    "notify": "notify",
    "web": "web",
    "cli": "cli",
    "__main__": "cli",
    "ledgerrun": "api",  # the package root: the public Python API
    "api": "api",
}
EVERYTHING = {
    "base", "ingest", "stripe", "store", "send", "reconcile", "output", "notify", "web", "cli"
}  # fmt: skip
MAY_IMPORT: dict[str, set[str]] = {
    "base": {"base"},
    "ingest": {"base"},
    "stripe": {"base"},
    "store": {"base"},
    "send": {"base", "ingest", "stripe", "store", "output"},
    "reconcile": {"base", "ingest", "stripe", "store", "send", "output"},
    "output": {"base"},
    "notify": {"base"},
    "web": EVERYTHING - {"cli"} | {"api"},
    "cli": EVERYTHING | {"api"},
    "api": EVERYTHING - {"cli", "web"},
}
SANDBOX_USERS = {"stripe", "cli"}

# Imports that break the layers today, reported rather than restructured here. Each names
# (importing module, imported module) and what would fix it; remove an entry once it is fixed.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {
    ("ledgerrun.store.schema", "ledgerrun.ingest.identity"):
        "the store migrates version-1 ids with ingest's canonical(); the canonical-id rule is "
        "shared vocabulary and could live in the base (e.g. ledgerrun/identity.py)",
}  # fmt: skip

# Modules over MAX_LINES today, each with who is on it; remove an entry once it is split.
OVERSIZED_FOR_NOW: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    path: Path
    line: int
    target: str  # dotted module imported (or module.attribute, resolved to the module)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def is_module(dotted: str) -> bool:
    base = SRC.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path) -> Iterator[Import]:
    """Every import in the module, resolved to the module it names (``from a import b`` is
    ``a.b`` when b is a module, else ``a``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, path, node.lineno, _root_use(alias.name, tree))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if is_module(full):
                    yield Import(name, path, node.lineno, full)
                elif base == "ledgerrun" and alias.name == "__version__":
                    yield Import(name, path, node.lineno, "ledgerrun.__version__")
                else:
                    yield Import(name, path, node.lineno, base)


def _root_use(imported: str, tree: ast.Module) -> str:
    """``import ledgerrun`` used only for ``ledgerrun.__version__`` counts as the version."""
    if imported != "ledgerrun":
        return imported
    used = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == imported
    }
    return "ledgerrun.__version__" if used == {"__version__"} else imported


def layer(dotted: str) -> str | None:
    """The layer of a ledgerrun module (None for anything outside ledgerrun)."""
    parts = dotted.split(".")
    if parts[0] != "ledgerrun":
        return None
    if len(parts) == 1:
        return LAYERS["ledgerrun"]
    if ".".join(parts[1:3]) in LAYERS:
        return LAYERS[".".join(parts[1:3])]
    return LAYERS.get(parts[1], "unplaced")


@functools.cache
def all_imports() -> tuple[Import, ...]:
    return tuple(i for path in sources() for i in imports(path))


def where(i: Import) -> str:
    return f"{i.path.relative_to(ROOT)}:{i.line} ({i.importer} imports {i.target})"


# --- the layers ----------------------------------------------------------------------------------


def test_every_module_of_ledgerrun_has_a_layer() -> None:
    unplaced = [
        module_name(p) for p in sources()
        if module_name(p).startswith("ledgerrun.") and layer(module_name(p)) == "unplaced"
    ]  # fmt: skip
    assert unplaced == [], f"place these in LAYERS (tests/test_layout.py): {unplaced}"


def test_no_import_runs_against_the_layers() -> None:
    broken = []
    for i in all_imports():
        mine, theirs = layer(i.importer), layer(i.target)
        if mine is None or theirs is None or mine == theirs or i.importer == i.target:
            continue
        if theirs not in MAY_IMPORT[mine] and (i.importer, i.target) not in KNOWN_VIOLATIONS:
            broken.append(f"{where(i)}: {mine} may not import {theirs}")
    assert broken == [], "\n".join(broken)


def test_every_known_violation_still_exists() -> None:
    found = {(i.importer, i.target) for i in all_imports()}
    fixed = [pair for pair in KNOWN_VIOLATIONS if pair not in found]
    assert fixed == [], f"fixed: remove from KNOWN_VIOLATIONS in tests/test_layout.py: {fixed}"


def test_output_imports_no_stage() -> None:
    stages = {"ingest", "stripe", "store", "send", "reconcile", "cli", "web"}
    found = [
        where(i) for i in all_imports()
        if layer(i.importer) == "output" and layer(i.target) in stages
        and (i.importer, i.target) not in KNOWN_VIOLATIONS
    ]  # fmt: skip
    assert found == [], "\n".join(found)


def test_nothing_in_the_library_imports_the_cli() -> None:
    found = [
        where(i) for i in all_imports()
        if layer(i.target) == "cli" and layer(i.importer) != "cli"
    ]  # fmt: skip
    assert found == [], "\n".join(found)


# --- the Stripe SDK and the sandbox ---------------------------------------------------------------


def test_only_the_stripe_package_imports_the_stripe_sdk() -> None:
    found = [
        where(i) for i in all_imports()
        if (i.target == "stripe" or i.target.startswith("stripe."))
        and not i.importer.startswith("ledgerrun.stripe")
    ]  # fmt: skip
    assert found == [], "\n".join(found)


def test_the_sandbox_imports_nothing_from_ledgerrun() -> None:
    found = [
        where(i) for i in all_imports()
        if i.importer.startswith("ledgerrun_sandbox") and layer(i.target) is not None
    ]  # fmt: skip
    assert found == [], "\n".join(found)


def test_only_the_stripe_session_and_the_cli_start_the_sandbox() -> None:
    found = [
        where(i) for i in all_imports()
        if i.target.startswith("ledgerrun_sandbox") and not i.importer.startswith("ledgerrun_")
        and layer(i.importer) not in SANDBOX_USERS
    ]  # fmt: skip
    assert found == [], "\n".join(found)


# --- module size ----------------------------------------------------------------------------------


def test_no_module_is_over_400_lines() -> None:
    over = {}
    for path in sources():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            over[path.relative_to(ROOT).as_posix()] = lines
    unexpected = {p: n for p, n in over.items() if p not in OVERSIZED_FOR_NOW}
    assert unexpected == {}, f"split these (at most {MAX_LINES} lines each): {unexpected}"
    split = [p for p in OVERSIZED_FOR_NOW if p not in over]
    assert split == [], (
        f"split already: remove from OVERSIZED_FOR_NOW in tests/test_layout.py: {split}"
    )


# --- the reader itself ----------------------------------------------------------------------------


def test_the_reader_sees_lazy_relative_and_aliased_imports() -> None:
    by_importer: dict[str, set[str]] = {}
    for i in all_imports():
        by_importer.setdefault(i.importer, set()).add(i.target)
    assert "ledgerrun.send.table" in by_importer["ledgerrun.api.results"]  # in a function
    assert "ledgerrun.stripe.facts" in by_importer["ledgerrun.ingest.rules"]  # from pkg import mod
    assert "ledgerrun.__version__" in by_importer["ledgerrun.send.summarise"]  # import ledgerrun
    assert "stripe" in by_importer["ledgerrun.stripe.sdk"]
    assert layer("ledgerrun.stripe.facts") == BASE and layer("ledgerrun.stripe.client") == "stripe"
