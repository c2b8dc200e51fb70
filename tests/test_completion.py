"""Shell completion, as docs/commands.md ("Shell completion") turns it on: click's scripts for
bash, zsh and fish, produced by the installed command, and completions it answers."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.docs_support import DOCS, fenced_blocks
from tests.helpers.cli import COMMAND


def ask(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _ledgerrun_completion ledgerrun"),
        ("zsh", "#compdef ledgerrun"),
        ("fish", "complete --no-files --command ledgerrun"),
    ],
)
def test_the_completion_script_is_produced(shell: str, marker: str) -> None:
    done = ask({"_LEDGERRUN_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_LEDGERRUN_COMPLETE" in done.stdout


def test_commands_and_options_are_completed() -> None:
    found = ask({"_LEDGERRUN_COMPLETE": "bash_complete", "COMP_WORDS": "ledgerrun ch",
                 "COMP_CWORD": "1"})  # fmt: skip
    assert found.stdout.split() == ["plain,check"]
    words = "ledgerrun check jobs/demo.toml --for"
    found = ask({"_LEDGERRUN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": "3"})
    assert found.stdout.split() == ["plain,--format"]


def test_the_docs_bash_line_turns_completion_on() -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Shell completion") :]
    (line,) = [b.lines[0] for b in fenced_blocks(section) if b.lang == "bash"]
    folder = os.path.dirname(COMMAND[0]) if len(COMMAND) == 1 else ""
    path = os.pathsep.join(p for p in (folder, os.environ.get("PATH", "")) if p)
    done = subprocess.run(
        ["bash", "-c", f"{line}\ncomplete -p ledgerrun"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "-F _ledgerrun_completion" in done.stdout
