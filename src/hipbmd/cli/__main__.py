"""``python -m hipbmd.cli``: the same as the ``hipbmd`` command."""

from hipbmd.cli.entry import main

main()
