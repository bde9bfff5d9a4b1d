"""The version of ovn-lbc, written into every output's header and the rows' marks."""

from __future__ import annotations

__version__ = "0.1.0"
