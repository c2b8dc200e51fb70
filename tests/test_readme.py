"""README.md and every page after it, as a newcomer follows them (tests/docs_walk.py): every shell
block runs as written, in reading order, in one shell and one tree that starts as a fresh clone;
each command exits as its page says, prints what its page shows, and leaves nothing behind that
git would list. `make demo` prints what the README shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import docs_walk
from tests.docs_support import DOCS, README, ROOT, fenced_blocks

pytestmark = pytest.mark.slow

WALK_TIMEOUT_S = 420  # a safety net for a hung command, not a speed requirement


def test_the_readme_starts_with_make_demo_and_make_test() -> None:
    first = fenced_blocks(README.read_text(encoding="utf-8"))[0]
    assert first.lang == "sh"
    assert [line.split("#")[0].strip() for line in first.lines] == ["make demo", "make test"]


def test_the_walk_reads_every_page_in_the_readmes_order() -> None:
    pages = docs_walk.pages()
    assert pages[0] == README and pages[1] == DOCS / "commands.md"
    assert sorted(pages[1:]) == sorted(DOCS.glob("*.md")), "a page missing from the README's More"


def test_the_walk_runs_the_docs_commands_and_checks_their_output() -> None:
    walk = docs_walk.plan()
    commands = [s.command for s in walk.steps]
    assert commands[0].split("#")[0].strip() == "make demo"
    assert any(c.startswith("ledgerrun reverse") for c in commands)  # reversals.md's walk
    assert any(s.page == "docs/commands.md" for s in walk.steps)
    assert any(s.page == "README.md" and "of job demo (sandbox, run date" in "\n".join(s.lines)
               for s in walk.samples)  # fmt: skip
    for page, line, reason in walk.not_run:
        assert len(reason) > 10, f"{page}:{line}: say why the block is not run"


def test_the_docs_run_as_written_in_reading_order(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("bash") is None:
        pytest.skip("needs make and bash")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git work tree to know which files a fresh clone has")
    walk = docs_walk.plan()
    tree = docs_walk.fresh_clone(tmp_path / "clone")
    ran = docs_walk.run(walk.steps, tree, tmp_path, WALK_TIMEOUT_S)

    def context(number: int) -> str:
        return ran.output.get(number, ran.log[-4000:])[-4000:]

    for number, step in enumerate(walk.steps):
        where = f"{step.page} (block at line {step.line}): `{step.command}`"
        assert number in ran.status, f"the walk stopped before {where}\n{ran.log[-4000:]}"
        assert ran.status[number] == step.expected, (
            f"{where} exited {ran.status[number]}, the page says {step.expected}\n{context(number)}"
        )
    for sample in walk.samples:
        step = walk.steps[sample.step]
        missing = docs_walk.missing_from(sample, ran.output.get(sample.step, ""), tree)
        assert not missing, (
            f"{sample.page}:{sample.line} shows output of `{step.command}` that it did not "
            f"print: {missing}\nit printed:\n{context(sample.step)}"
        )
    assert docs_walk.left_behind(tree) == [], "files the docs leave that git would list"
