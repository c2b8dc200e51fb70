"""Time ledgerrun as an installed copy runs: with its compiled bytecode cached.

``pip install`` compiles every module to bytecode once, so a user's ``ledgerrun`` never compiles
its own source at start-up. A development shell may set ``PYTHONDONTWRITEBYTECODE`` (this
machine's does), and then every process of an editable install recompiles all of ledgerrun
(0.15 s of a validate's start-up here). Importing this module drops that setting for this
process and every process it starts, so the first timed run writes the cache and the rest use it.
"""

from __future__ import annotations

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
