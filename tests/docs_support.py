"""Reading the Markdown docs as the tests need them: fenced blocks, sections, tables, and the
``ledgerrun`` command lines inside code blocks, checked against the real click command tree."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from ledgerrun.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")


@dataclass
class Block:
    lang: str
    lines: list[str]
    line: int  # 1-based line number of the opening fence


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block, with its language ("" when none) and its lines unindented."""
    blocks: list[Block] = []
    current: Block | None = None
    fence = indent = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if current is None:
            if match:
                fence, indent = match["fence"], match["indent"]
                current = Block(match["lang"].lower(), [], number)
            continue
        if match and match["fence"].startswith(fence[0]) and len(match["fence"]) >= len(fence):
            blocks.append(current)
            current = None
            continue
        current.lines.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    return blocks


def prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks."""
    inside = False
    fence = ""
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match and (not inside or match["fence"].startswith(fence[0])):
            inside = not inside
            fence = match["fence"]
            continue
        if not inside:
            yield line


def sections(text: str) -> dict[str, str]:
    """Each heading's title (backticks and a leading 'ledgerrun ' removed) -> its text, up to the
    next heading of the same or a higher level (so a section holds its subsections)."""
    lines = list(prose_lines(text))
    headings = []
    for index, line in enumerate(lines):
        match = _HEADING.match(line)
        if match:
            title = match["title"].replace("`", "").strip().removeprefix("ledgerrun ").strip()
            headings.append((index, len(match["hashes"]), title))
    result: dict[str, str] = {}
    for n, (index, level, title) in enumerate(headings):
        end = next((i for i, lv, _ in headings[n + 1 :] if lv <= level), len(lines))
        result[title] = "\n".join(lines[index:end])
    return result


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table outside code blocks, as rows of stripped cells (the header first,
    the |---| line dropped). An escaped \\| stays inside its cell."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*prose_lines(text), ""]:
        if line.lstrip().startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            cells = [c.strip().replace("\\|", "|") for c in cells]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


# --- command lines ------------------------------------------------------------------------------

_REDIRECTS = {">", ">>", "<", ">&", "<&", "&>", ">|", "&>>"}
_SEPARATORS = {"&&", "||", "|", ";", "&", "(", ")", ";;", "|&"}
_WRAPPERS = {"exec", "env", "sudo", "nohup", "time", "command"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Invocation:
    args: list[str]  # what follows `ledgerrun`
    synopsis: bool  # a usage line with [optional] parts and PLACEHOLDERS, not a real command
    source: str  # the line, for messages


def logical_lines(lines: list[str]) -> list[str]:
    """Lines with backslash continuations joined, and a synopsis continued on an indented
    `[...]` line joined to it."""
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = pending + raw
        if line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        if out and raw[:1].isspace() and raw.lstrip().startswith("[") and "ledgerrun" in out[-1]:
            out[-1] += " " + raw.strip()
        else:
            out.append(line)
    if pending:
        out.append(pending)
    return out


def invocations(block: Block) -> list[Invocation]:
    """Every `ledgerrun ...` in a code block: shell commands (sh, cron, systemd Exec lines,
    `sh -c '...'` included) and usage lines."""
    found: list[Invocation] = []
    if block.lang in ("python", "py", "pycon"):
        return found  # Python (ledgerrun.run(...)): tests/test_python_api.py runs it
    for line in logical_lines(block.lines):
        if "ledgerrun" not in line:
            continue
        if block.lang == "ini":
            match = re.match(r"^\s*Exec\w*=[-@:+!]*(?P<command>.*)$", line)
            if not match:
                continue
            line = match["command"].replace("$$", "$").replace("%%", "%")
        elif block.lang in ("cron", "crontab"):
            if re.match(r"^\s*(#|[A-Za-z_]+=)", line) or not line.strip():
                continue
            fields = line.split(None, 1 if line.lstrip().startswith("@") else 5)
            # /etc/cron.d format: the schedule, then the user, then the command.
            line = fields[-1].split(None, 1)[1] if len(fields[-1].split(None, 1)) > 1 else ""
            line = line.replace("\\%", "%")
        if re.search(r"\bledgerrun\.", line) and not re.search(r"\bledgerrun\s", line):
            continue  # Python (ledgerrun.run(...)), not a command line
        if block.lang in ("", "text", "console") and re.search(r"\bledgerrun\b.*[\[(]", line):
            rest = re.sub(r"\s#.*$", "", line.split("ledgerrun", 1)[1])
            found.append(Invocation(re.findall(r"[^\s\[\]()|]+", rest), True, line))
            continue
        found.extend(Invocation(args, False, line) for args in shell_invocations(line, block.line))
    return found


def shell_invocations(line: str, where: int = 0) -> list[list[str]]:
    """The arguments of each `ledgerrun` a shell line runs (also via `sh -c` and `python -m`)."""
    line = re.sub(r"(?<=\s)\d+(?=[<>])", "", line)  # the 2 of 2>>file: a descriptor, no word
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise AssertionError(f"cannot parse the shell line near line {where}: {line!r}") from exc
    segments: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if token in _REDIRECTS:
            skip_next = True
            continue
        if token in _SEPARATORS:
            segments.append([])
            continue
        segments[-1].append(token)
    found: list[list[str]] = []
    for segment in segments:
        while segment and (_ASSIGNMENT.match(segment[0]) or segment[0] in _WRAPPERS):
            segment = segment[1:]
        if not segment:
            continue
        program = Path(segment[0]).name
        if program == "ledgerrun":
            found.append(segment[1:])
        elif program.startswith("python") and segment[1:3] == ["-m", "ledgerrun"]:
            found.append(segment[3:])
        elif program in ("sh", "bash", "dash") and "-c" in segment:
            script = segment[segment.index("-c") + 1 : segment.index("-c") + 2]
            for inner in script:
                found.extend(shell_invocations(inner, where))
    return found


# --- the command tree ---------------------------------------------------------------------------

HELP = ("-h", "--help")


def command_paths(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand, as (path, command): ('journal', 'backup'), ..."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


def long_names(option: click.Option) -> list[str]:
    return [n for n in (*option.opts, *option.secondary_opts) if n.startswith("--")]


def _find(command: click.Command, name: str) -> click.Option | None:
    for option in options(command):
        if name in option.opts or name in option.secondary_opts:
            return option
    return None


def _takes_value(option: click.Option) -> bool:
    return not (option.is_flag or option.count)


def check(invocation: Invocation) -> list[str]:
    """What is wrong with a `ledgerrun ...` line: an unknown command, an option the command does
    not take, a value outside an option's choices, a wrong number of arguments, a missing
    required option. Values with shell expansions ($...) are not judged."""
    if invocation.synopsis:
        return _check_synopsis(invocation.args)
    args = invocation.args
    errors: list[str] = []
    command: click.Command = main
    path = ["ledgerrun"]
    positionals: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in HELP:
            return errors
        if arg.startswith("-") and len(arg) > 1:
            name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            option = _find(command, name)
            if option is None and re.fullmatch(r"-[A-Za-z]{2,}", arg):
                flags = [_find(command, f"-{c}") for c in arg[1:]]
                if all(f is not None and not _takes_value(f) for f in flags):
                    continue
            if option is None:
                errors.append(f"`{' '.join(path)}` has no option {name}")
                continue
            if option.name:
                seen.add(option.name)
            if _takes_value(option) and not equals:
                if i >= len(args):
                    errors.append(f"{name} of `{' '.join(path)}` needs a value")
                    break
                value = args[i]
                i += 1
            choices = getattr(option.type, "choices", None)
            if choices and value and "$" not in value and value not in choices:
                errors.append(f"{name} takes one of {sorted(choices)}, not {value!r}")
            continue
        if isinstance(command, click.Group):
            sub = command.commands.get(arg)
            if sub is None:
                errors.append(f"`{' '.join(path)}` has no command {arg!r}")
                return errors
            command = sub
            path.append(arg)
            continue
        positionals.append(arg)
    if isinstance(command, click.Group) and command is not main:
        errors.append(f"`{' '.join(path)}` needs a subcommand")
        return errors
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if command is not main and len(positionals) != len(arguments):
        wanted = " ".join(a.human_readable_name for a in arguments) or "no argument"
        errors.append(f"`{' '.join(path)}` takes {wanted}, got {positionals}")
    for option in options(command):
        if option.required and option.name not in seen:
            errors.append(f"`{' '.join(path)}` needs {option.opts[0]}")
    return errors


def _check_synopsis(words: list[str]) -> list[str]:
    """A usage line: real command names, real options, valid choices; placeholders pass."""
    errors: list[str] = []
    command: click.Command = main
    path = ["ledgerrun"]
    seen: set[str] = set()
    known_command = True
    value_of: click.Option | None = None
    for word in words:
        if word.startswith("-") and len(word) > 1:
            value_of = None
            if not known_command or word in HELP:
                continue
            option = _find(command, word.split("=", 1)[0])
            if option is None:
                errors.append(f"`{' '.join(path)}` has no option {word}")
                continue
            if option.name:
                seen.add(option.name)
            value_of = option if _takes_value(option) else None
            continue
        if value_of is not None:
            choices = getattr(value_of.type, "choices", None)
            if choices and word.islower() and word not in choices:
                errors.append(f"{value_of.opts[0]} takes one of {sorted(choices)}, not {word!r}")
            if not choices:
                value_of = None
            continue
        if known_command and isinstance(command, click.Group):
            if word.isupper() or word == "...":
                known_command = False  # COMMAND: any command
                continue
            sub = command.commands.get(word)
            if sub is None:
                errors.append(f"`{' '.join(path)}` has no command {word!r}")
                return errors
            command = sub
            path.append(word)
    if known_command and command is not main and not isinstance(command, click.Group):
        for option in options(command):
            if option.required and option.name not in seen:
                errors.append(f"`{' '.join(path)}` needs {option.opts[0]}")
    return errors


def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]
