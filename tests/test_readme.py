"""README.md as a user follows it: `make demo` prints what the README shows, and every shell block
that uses ledgerrun runs as written, in order, each command exiting as the README says.

Each runs in its own copy of the repository (the files git tracks, as they are in the work tree),
with the suite's .venv linked in. A command's expected exit is 0 unless its comment says
`# exit N`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_support import README, ROOT, Block, fenced_blocks, logical_lines

pytestmark = pytest.mark.slow

_EXIT = re.compile(r"#.*\bexit (\d+)\b")


def blocks() -> list[Block]:
    return fenced_blocks(README.read_text(encoding="utf-8"))


def copy_of_the_repository(dest: Path) -> Path:
    """The tracked files, as they are now, and the suite's own .venv linked in."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git work tree to know which files a fresh clone has")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return dest


def environment() -> dict[str, str]:
    """The test's environment (its own XDG_STATE_HOME) without a key: the README must set one."""
    env = {k: v for k, v in os.environ.items() if k not in ("STRIPE_API_KEY", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.prefix) / "bin"
    )
    return env


def normalise(text: str, root: Path) -> list[str]:
    """Run ids, dates and the copy's location made comparable with the README's sample."""
    text = text.replace(str(root), "/path/to/ledgerrun")
    text = re.sub(r"\d{8}T\d{6}Z-[0-9a-f]{6}", "RUN", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", text)
    return [line.rstrip() for line in text.splitlines()]


def demo_sample() -> list[str]:
    readme = README.read_text(encoding="utf-8")
    demo = readme[readme.index("## The demo") :]
    (sample,) = [b for b in fenced_blocks(demo) if b.lang == ""][:1]
    return sample.lines


def test_the_readme_starts_with_make_demo_and_make_test() -> None:
    first = blocks()[0]
    assert first.lang == "sh"
    assert [line.split("#")[0].strip() for line in first.lines] == ["make demo", "make test"]


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("bash") is None:
        pytest.skip("needs make and bash")
    env = environment()

    # make demo, in its own copy, while the walkthrough runs in another. `-o` keeps make from
    # rebuilding the .venv the copy shares with this suite (its stamp is older than the copied
    # pyproject.toml); `make test` is not run from inside the suite it runs.
    demo_root = copy_of_the_repository(tmp_path / "demo")
    demo = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "demo"],
        cwd=demo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    walk_root = copy_of_the_repository(tmp_path / "walk")
    commands: list[tuple[str, int]] = []
    for block in blocks()[1:]:
        if block.lang not in ("sh", "bash") or "ledgerrun" not in "\n".join(block.lines):
            continue
        for line in logical_lines(block.lines):
            if line.strip() and not line.lstrip().startswith("#"):
                match = _EXIT.search(line)
                commands.append((line, int(match[1]) if match else 0))
    assert len(commands) >= 8, commands
    status = tmp_path / "status.txt"
    script = ['exec 3>"$README_STATUS"']
    for number, (line, _) in enumerate(commands):
        script += [line, f"echo {number} $? >&3"]
    log = tmp_path / "walkthrough.log"
    with log.open("w") as out:
        walk = subprocess.Popen(
            ["bash", "-c", "\n".join(script)],
            cwd=walk_root,
            env={**env, "README_STATUS": str(status)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            walk.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
        finally:
            with_children_stopped(walk)
    try:
        demo_out, _ = demo.communicate(timeout=120)
    finally:
        demo.kill()

    # The walkthrough: every command ran, and exited as the README says.
    ran = dict(line.split() for line in status.read_text().splitlines())
    output = log.read_text()
    for number, (line, expected) in enumerate(commands):
        assert str(number) in ran, f"the README stopped before: {line}\n{output[-3000:]}"
        assert int(ran[str(number)]) == expected, (
            f"README.md: `{line}` exited {ran[str(number)]}, README says {expected}\n"
            f"{output[-3000:]}"
        )

    # The demo: make succeeds and prints what the README shows.
    assert demo.returncode == 0, demo_out
    printed = normalise(demo_out, demo_root)
    for line in normalise("\n".join(demo_sample()), demo_root):
        if not line.strip():
            continue
        if "..." in line:
            head = line.split("...")[0].rstrip()
            assert any(p.startswith(head) for p in printed), f"{head!r} not in:\n{demo_out}"
        else:
            assert line in printed, f"README's demo shows {line!r}; make demo printed:\n{demo_out}"


def with_children_stopped(process: subprocess.Popen[bytes]) -> None:
    """End the walkthrough's shell and whatever it left running (a sandbox)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
