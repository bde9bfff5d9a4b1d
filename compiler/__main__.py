"""``python -m compiler`` is ``ovn-lbc``."""

from .cli import main

raise SystemExit(main())
