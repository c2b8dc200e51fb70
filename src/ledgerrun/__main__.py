from ledgerrun.cli import entry

entry(fast_exit=False)
