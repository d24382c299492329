"""`python -m flows` is the `nnflow` command."""

from flows.cli import main

main()
