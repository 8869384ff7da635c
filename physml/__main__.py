"""``python -m physml``: the ``physml`` command (:func:`physml.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
