"""Emitters: Northbound rows -> text. They print; they decide nothing."""
