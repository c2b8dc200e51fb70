from ledgerrun.cli import main

main()
