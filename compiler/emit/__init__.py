"""Emitters: every output. Northbound rows -> a script or a transaction, a plan
-> text, the model -> DSL or YAML (``convert``). They print; they decide nothing."""
