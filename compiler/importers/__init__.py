"""Importers: other tools' configurations -> the model.

keepalived.conf (``keepalived.py`` reads the text into a syntax tree,
``keepalived_services.py`` reads the tree) and ``ipvsadm`` rules
(``ipvsadm.py``) are read into one neutral shape (``services.py``), which
``translate.py`` places in the networks of the OVN context (``context.py``:
a network file, switch ports found in a database). ``run.py`` does the
whole import: the model it makes is judged by the ordinary checks, printed
by the ``convert`` printers and read back, so what it writes compiles.

What OVN cannot do is a diagnostic of the importer (codes K0xx), located in
the keepalived or ipvsadm file, saying what OVN does instead.
"""

SOURCES = ("keepalived", "ipvsadm")
