"""``python -m tinygrad_w``: the same command line as ``tinygrad-w`` (see :mod:`tinygrad_w.cli`)."""

from tinygrad_w.cli import main

raise SystemExit(main())
