"""The docs against the code: every command and option documented, the exit-code tables true to
``ExitCode``, and every ``ledgerrun`` line in a code block a command that would parse."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from ledgerrun.errors import ExitCode
from ledgerrun.jobfile import load_job_file
from tests.docs_support import (
    DOCS,
    README,
    ROOT,
    Block,
    Invocation,
    check,
    command_paths,
    doc_files,
    fenced_blocks,
    invocations,
    long_names,
    options,
    sections,
    tables,
)

COMMANDS_MD = DOCS / "commands.md"
SCHEDULING_MD = DOCS / "scheduling.md"

# What a table row must say for each exit code, so that a doc cannot give a code another
# meaning. A new ExitCode member fails test_every_exit_code_has_keywords until it gets its own.
KEYWORDS = {
    ExitCode.OK: ("succeeded", "earlier"),
    ExitCode.FAILED: ("failed", "invalid", "none unknown"),
    ExitCode.INVALID: ("invalid", "nothing was sent"),
    ExitCode.INCOMPLETE: ("unknown", "not sent"),
    ExitCode.LOCKED: ("another run", "lock"),
}


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- commands.md covers the command tree -------------------------------------------------------

PATHS = [" ".join(path) for path, _ in command_paths()]


def test_the_command_tree_is_what_the_docs_expect() -> None:
    """A sanity check of the walk itself: it sees subcommands, not only top-level commands."""
    assert "journal backup" in PATHS and "run" in PATHS and "sandbox" in PATHS


@pytest.mark.parametrize(("path", "command"), list(command_paths()), ids=PATHS)
def test_every_command_has_a_section_naming_each_option(
    path: tuple[str, ...], command: click.Command
) -> None:
    found = sections(text(COMMANDS_MD))
    title = " ".join(path)
    assert title in found, f"docs/commands.md has no section '## {title}'"
    section = found[title]
    missing = [
        name
        for option in options(command)
        for name in long_names(option)
        if name not in GLOBAL_OPTIONS
        and not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", section)
    ]
    assert not missing, f"docs/commands.md, section {title}: options not described: {missing}"


GLOBAL_OPTIONS = ("--log-format", "--verbose")  # described once, in "Global options"


def test_the_global_options_section_says_every_command_takes_them() -> None:
    section = sections(text(COMMANDS_MD))["Global options"]
    assert "every command" in section and "after" in section
    for name in GLOBAL_OPTIONS:
        assert f"`{name}" in section or f"`-v`, `{name}`" in section, name


def test_command_headings_name_real_commands() -> None:
    """A heading that is just a lower-case name is a command's section: it must still exist."""
    for title in sections(text(COMMANDS_MD)):
        if re.fullmatch(r"[a-z][a-z -]*", title):
            assert title in PATHS, f"docs/commands.md documents '{title}', no such command"


# --- exit codes ---------------------------------------------------------------------------------


def exit_tables(doc: str) -> list[dict[int, str]]:
    found = []
    for table in tables(doc):
        if table[0][0].lower() in ("exit", "code", "exit code"):
            found.append({int(r[0]): r[1].lower() for r in table[1:] if r[0].isdigit()})
    return found


def test_every_exit_code_has_keywords() -> None:
    assert set(KEYWORDS) == set(ExitCode)


@pytest.mark.parametrize("path", [COMMANDS_MD, SCHEDULING_MD, README], ids=lambda p: p.name)
def test_exit_code_tables_say_what_the_enum_means(path: Path) -> None:
    found = exit_tables(text(path))
    assert found, f"{path.name} has no exit-code table (a table whose first column is 'exit')"
    for table in found:
        assert set(table) == {int(code) for code in ExitCode}, f"{path.name}: {sorted(table)}"
        for code in ExitCode:
            meaning = table[int(code)]
            absent = [word for word in KEYWORDS[code] if word not in meaning]
            assert not absent, f"{path.name}, exit {int(code)}: {meaning!r} lacks {absent}"


def test_per_command_exit_lines_use_only_real_codes() -> None:
    values = {int(code) for code in ExitCode}
    for paragraph in re.findall(r"\*\*Exit:\*\*(.*?)(?:\n\n|\Z)", text(COMMANDS_MD), re.S):
        codes = {int(c) for c in re.findall(r"(?<![\w.])(\d)(?![\w.,])", paragraph)}
        assert codes <= values, f"unknown exit code in: {paragraph!r}"


# --- command lines in code blocks --------------------------------------------------------------


def all_invocations(path: Path) -> list[Invocation]:
    return [found for block in fenced_blocks(text(path)) for found in invocations(block)]


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_command_lines_in_code_blocks_are_real(path: Path) -> None:
    problems = [
        f"{found.source.strip()}\n    -> {error}"
        for found in all_invocations(path)
        for error in check(found)
    ]
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", [README, COMMANDS_MD, SCHEDULING_MD], ids=lambda p: p.name)
def test_the_main_docs_have_command_lines_to_check(path: Path) -> None:
    real = [i for i in all_invocations(path) if not i.synopsis]
    assert len(real) >= 3, f"{path.name}: the checker found only {real}"


def test_scheduling_checks_the_lines_inside_cron_systemd_and_scripts() -> None:
    found = all_invocations(SCHEDULING_MD)
    sources = " ".join(i.source for i in found)
    assert "ExecStart" not in sources  # the Exec prefix is cut before parsing...
    assert any(i.args[:3] == ["--log-format", "json", "run"] for i in found)  # ...from sh -c
    assert any("reconcile" in i.args for i in found)  # the cron line
    assert any(i.args[:2] == ["journal", "backup"] for i in found)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("ledgerrun valdate jobs/demo.toml", "no command 'valdate'"),
        ("ledgerrun validate jobs/demo.toml --dry-run", "no option --dry-run"),
        ("ledgerrun run --format json jobs/demo.toml", "no option --format"),
        ("ledgerrun validate --format yaml jobs/demo.toml", "takes one of"),
        ("ledgerrun --log-format xml run jobs/demo.toml", "takes one of"),
        ("ledgerrun run", "takes TARGET"),
        ("ledgerrun journal backup jobs/demo.toml", "takes TARGET DESTINATION"),
        ("ledgerrun journal", "needs a subcommand"),
        ("ledgerrun sandbox --port 0", "needs --accounts"),
        ("cd /srv && X=1 .venv/bin/ledgerrun status a.toml --live b", "takes TARGET"),
        ("/bin/sh -c 'exec ledgerrun run --bogus x.toml'", "no option --bogus"),
    ],
)
def test_the_checker_catches_mistakes(line: str, error: str) -> None:
    found = invocations(Block("sh", [line], 1))
    assert found, line
    assert any(error in e for i in found for e in check(i)), (line, [check(i) for i in found])


@pytest.mark.parametrize(
    "line",
    [
        "ledgerrun sandbox --accounts a.json --port 0 > sandbox.out &",
        'ledgerrun -vv run a.toml --date "$day" >/dev/null 2>>"$log" || echo $?',
        "python -m ledgerrun validate --offline a.csv | head   # exit 2",
    ],
)
def test_the_checker_accepts_the_shell_around_a_command(line: str) -> None:
    (found,) = invocations(Block("sh", [line], 1))
    assert check(found) == []


@pytest.mark.parametrize(
    "line",
    [
        "ledgerrun [--log-format text|json] [-v] COMMAND [OPTIONS] [ARGUMENTS]",
        "ledgerrun reverse TARGET (--adjustments FILE | --all) [--reason TEXT] [--dry-run]",
        "ledgerrun sandbox --accounts FILE [--port 12111] [...]   # a local API",
    ],
)
def test_the_checker_reads_usage_lines(line: str) -> None:
    (found,) = invocations(Block("", [line], 1))
    assert found.synopsis and check(found) == []


def test_the_checker_finds_mistakes_in_usage_lines() -> None:
    (found,) = invocations(Block("", ["ledgerrun status TARGET [--format text|yaml] [--all]"], 1))
    assert check(found) == [
        "--format takes one of ['json', 'text'], not 'yaml'",
        "`ledgerrun status` has no option --all",
    ]


def test_the_checker_reads_cron_and_systemd_lines() -> None:
    cron = Block("cron", ["15 2 * * * ledgerrun cd /srv && .venv/bin/ledgerrun run --nope a"], 1)
    assert [check(i) for i in invocations(cron)] == [["`ledgerrun run` has no option --nope"]]
    unit = Block("ini", ["Description=ledgerrun", "ExecStart=/usr/bin/ledgerrun status a.toml"], 1)
    assert [i.args for i in invocations(unit)] == [["status", "a.toml"]]


# --- the README's job file ----------------------------------------------------------------------


def test_the_readme_job_file_is_a_valid_job(tmp_path: Path) -> None:
    (block,) = [b for b in fenced_blocks(text(README)) if b.lang == "toml"]
    path = tmp_path / "jobs" / "example.toml"
    path.parent.mkdir()
    path.write_text("\n".join(block.lines), encoding="utf-8")
    job = load_job_file(path, __import__("datetime").date(2026, 11, 26))
    assert job.name == "nightly-adjustments"
    assert job.ledger == tmp_path / "inbox" / "adjustments-2026-11-26.csv"


# --- the JSON log ------------------------------------------------------------------------------


def test_the_json_log_table_names_every_event_the_logs_module_documents() -> None:
    from ledgerrun.output import logs

    documented = set(re.findall(r"^([a-z_]+)\s{2,}", logs.__doc__ or "", re.M)) - {"event"}
    assert {"run_start", "run_end", "error"} <= documented
    section = sections(text(SCHEDULING_MD))["The JSON log"]
    missing = sorted(e for e in documented if f"`{e}`" not in section)
    assert not missing, f"docs/scheduling.md, The JSON log: events not described: {missing}"


# --- what the docs say an option does --------------------------------------------------------


def test_the_journal_option_is_documented_as_it_works() -> None:
    """`--journal` takes a SQLite path or a postgresql:// URL (its --help says so, and the
    PostgreSQL suites run it): commands.md must not say a URL is refused."""
    from ledgerrun.cli import main

    run = main.commands["run"]
    (journal,) = [o for o in options(run) if "--journal" in o.opts]
    assert "postgresql://" in (journal.help or "")
    (row,) = [r for t in tables(text(COMMANDS_MD)) for r in t if r[0].startswith("`--journal")]
    assert "postgresql://" in row[1] and "refuse" not in row[1].lower(), row
