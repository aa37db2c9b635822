"""``python -m repo``: the ipd command."""

from .cli import main

main()
