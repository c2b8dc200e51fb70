from ledgerrun.cli import entry

entry()
