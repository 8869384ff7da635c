"""``python -m physml``: the ``physml`` command (:func:`physml.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
