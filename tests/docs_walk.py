"""The docs as a newcomer follows them: README.md, then each page in the order of the README's
"More" list, every shell block run as written, in one shell, in one tree.

The tree starts as a fresh clone would (the files git tracks, as they are in the work tree, in a
git repository of their own) with the suite's built ``.venv`` linked in. One ``bash`` runs every
command line of every page in turn, so what a page sets up (``PATH``, ``STRIPE_API_KEY``, a
sandbox in the background, ``$SANDBOX``) is there for the pages after it, as in a reader's
terminal. A command's expected exit is 0 unless its comment says ``# exit N``.

What the pages say about a block, in an HTML comment on the line above it (readers do not see
it):

* ``<!-- walk: not run: REASON -->``: the block is not run, for the reason given (it needs root
  or systemd, a real Stripe account, a PostgreSQL server, or it serves until Ctrl-C).
* ``<!-- walk: output -->``: the block shows output of the last command run before it; every
  line it shows must be among the lines that command printed (a line with ``...`` only up to
  the dots), after run ids, dates and the tree's location are made comparable.

Every shell block (``sh``, ``bash``, ``console``, ``zsh``, ``fish``) either runs or says why not.
The one other exception is the README's ``make test`` line: the suite does not run itself. A
``make`` in the walk never rebuilds the ``.venv`` it shares with the suite (``-o``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.docs_support import DOCS, README, ROOT, Block, fenced_blocks, logical_lines

SHELLS = ("sh", "bash", "shell", "console", "zsh", "fish")
RUNS = ("sh", "bash")
_EXIT = re.compile(r"#.*\bexit (\d+)\b")
_DIRECTIVE = re.compile(r"^<!--\s*walk:\s*(?P<what>.*?)\s*-->$")
_MARK = "@@walk-step"
EXCEPTED = ("make test",)  # the README's own `make test`: the suite does not run itself


@dataclass
class Step:
    page: str
    line: int  # of the block's opening fence
    command: str
    expected: int


@dataclass
class Sample:
    """An output block: what the step before it must have printed."""

    page: str
    line: int
    step: int  # index into the steps
    lines: list[str]


@dataclass
class Walk:
    steps: list[Step] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    not_run: list[tuple[str, int, str]] = field(default_factory=list)  # page, line, reason


def pages() -> list[Path]:
    """README.md, then the pages of its "More" list in its order."""
    more = README.read_text(encoding="utf-8").split("\n## More", 1)[1]
    listed = re.findall(r"^- \[docs/([\w.-]+\.md)\]", more, re.M)
    return [README, *(DOCS / name for name in listed)]


def directive(text: str, block: Block) -> str | None:
    """The ``walk:`` comment on the lines just above a block (blank lines between allowed)."""
    lines = text.splitlines()
    index = block.line - 2  # the line above the fence, 0-based
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index < 0:
        return None
    found = _DIRECTIVE.match(lines[index].strip())
    return found["what"] if found else None


def plan() -> Walk:
    """Every step and output sample of the walk, in reading order, and the blocks not run."""
    walk = Walk()
    for path in pages():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        for block in fenced_blocks(text):
            said = directive(text, block)
            if said is not None and said.startswith("not run:"):
                reason = said.removeprefix("not run:").strip()
                assert reason, f"{name}:{block.line}: 'not run' needs a reason"
                walk.not_run.append((name, block.line, reason))
                continue
            if said == "output":
                assert walk.steps, f"{name}:{block.line}: an output block before any command"
                walk.samples.append(Sample(name, block.line, len(walk.steps) - 1, block.lines))
                continue
            assert said is None, f"{name}:{block.line}: unknown walk directive {said!r}"
            if block.lang in SHELLS and block.lang not in RUNS:
                raise AssertionError(
                    f"{name}:{block.line}: a {block.lang} block the walk cannot run: say why "
                    "above it (<!-- walk: not run: REASON -->)"
                )
            if block.lang not in RUNS:
                continue
            for line in logical_lines(block.lines):
                command = line.strip()
                if not command or command.startswith("#"):
                    continue
                if command.split("#")[0].strip() in EXCEPTED:
                    continue
                found = _EXIT.search(command)
                walk.steps.append(Step(name, block.line, command, int(found[1]) if found else 0))
    return walk


# --- the tree -------------------------------------------------------------------------------------


def fresh_clone(dest: Path) -> Path:
    """The tracked files as they are now, committed in a repository of their own (so that what
    the walk leaves behind shows in `git status`), and the suite's .venv linked in."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = ["git", "-c", "user.name=walk", "-c", "user.email=walk@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "as cloned"]):
        subprocess.run([*git, *args], cwd=dest, check=True, capture_output=True)
    (dest / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    with (dest / ".git" / "info" / "exclude").open("a") as fh:
        fh.write("/.venv\n")  # the link is the suite's doing, not the reader's
    return dest


def left_behind(tree: Path) -> list[str]:
    """What `git status` shows in the tree: files the docs made that git neither tracks nor
    ignores, and tracked files they changed."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def environment() -> dict[str, str]:
    """The test's environment (its own XDG_STATE_HOME), without a key or the suite's .venv on
    PATH: the README sets both up."""
    env = {k: v for k, v in os.environ.items() if k not in ("STRIPE_API_KEY", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.prefix) / "bin"
    )
    return env


# --- running it -----------------------------------------------------------------------------------


@dataclass
class Ran:
    status: dict[int, int]  # step -> exit code, for the steps that ended
    output: dict[int, str]  # step -> what it printed (stdout and stderr)
    log: str


def script(steps: list[Step]) -> str:
    lines = [
        'exec 3>"$WALK_STATUS"',
        'make() { command make -o .venv/.installed "$@"; }  # the suite\'s .venv: never rebuilt',
    ]
    for number, step in enumerate(steps):
        lines += [f"printf '\\n{_MARK} {number}\\n'", step.command, f"echo {number} $? >&3"]
    return "\n".join(lines) + "\n"


def run(steps: list[Step], tree: Path, scratch: Path, timeout: float) -> Ran:
    """Run the steps in one bash in ``tree``; whatever they leave running is stopped after."""
    for step in steps:
        parsed = subprocess.run(["bash", "-n", "-c", step.command], capture_output=True)
        assert parsed.returncode == 0, (
            f"{step.page}:{step.line}: each line of a block is run on its own, and this one "
            f"is not a whole command: {step.command!r}"
        )
    status_file = scratch / "walk-status.txt"
    log_file = scratch / "walk.log"
    with log_file.open("w") as out:
        shell = subprocess.Popen(
            ["bash", "-c", script(steps)],
            cwd=tree,
            env={**environment(), "WALK_STATUS": str(status_file)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            shell.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            stop_group(shell)
    status = {}
    for line in status_file.read_text().splitlines():
        number, code = line.split()
        status[int(number)] = int(code)
    log = log_file.read_text(errors="replace")
    output: dict[int, str] = {}
    for chunk in log.split(f"\n{_MARK} ")[1:]:
        number, _, printed = chunk.partition("\n")
        output[int(number)] = printed
    return Ran(status, output, log)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """End the walk's shell and whatever it left running (a sandbox in the background)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def comparable(text: str, tree: Path) -> list[str]:
    """Lines with run ids, dates and the tree's location made comparable with the docs'."""
    text = text.replace(f"{tree}/", "").replace("/path/to/ledgerrun/", "")
    text = re.sub(r"\d{8}T\d{6}Z-[0-9a-f]{6}", "RUN", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", text)
    return [line.rstrip() for line in text.splitlines()]


def missing_from(sample: Sample, printed: str, tree: Path) -> list[str]:
    """The lines of an output sample that the command did not print."""
    got = comparable(printed, tree)
    missing = []
    for line in comparable("\n".join(sample.lines), tree):
        if not line.strip():
            continue
        if "..." in line:
            head = line.split("...")[0].rstrip()
            if not any(p.startswith(head) for p in got):
                missing.append(line)
        elif line not in got:
            missing.append(line)
    return missing
