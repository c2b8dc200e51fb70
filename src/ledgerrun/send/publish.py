"""The publishers the front ends hand to :func:`~ledgerrun.send.runner.run_job` and
:func:`~ledgerrun.send.reversal.command.reverse_job`: a result in, its files written (each
atomically).

Each publisher imports what it writes with when it is called, so a run never loads the reversal
command's modules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledgerrun.send.reversal.command import ReverseResult
    from ledgerrun.send.runner import RunResult


def publish_run(result: RunResult) -> None:
    """A run's publisher: writes what the run decided its files hold (``result.written``: the
    run date's results as the store knows them, a refused run's own rows, or a dry run's) at
    ``result.outputs``."""
    from ledgerrun.output.publish import publish

    if result.written is not None:
        publish(result.written.table, result.written.summary, result.outputs)


def publish_reversals(result: ReverseResult) -> None:
    """A reversal's publisher: the reversals file (the run date's reversals as the store knows
    them; a refused command's own lines beside it) and its summary."""
    from ledgerrun.output.results import atomic_write, write_results
    from ledgerrun.send.reversal.files import reversal_table, summary_of

    write_results(reversal_table(result.written, result.run_id), result.results_path)
    data = (json.dumps(summary_of(result), indent=2) + "\n").encode()
    atomic_write(result.summary_path, lambda fh: fh.write(data))
