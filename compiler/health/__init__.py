"""``ovn-lbc status`` and ``ovn-lbc doctor``: what OVN does with the file's health checks.

A stage of its own over the rows the file lowers to (compiler.lower): it reads
the Northbound and Southbound databases once each (read.py, through
compiler.ovsdb), joins them to the file's rows (joined.py), and turns the
join into data: a BackendStatus per backend and VIP (status.py) and a
Finding per thing that keeps a health check from working (doctor.py).
render.py prints both, as text for people and as JSON for scripts. Nothing
here writes to a database.

    read.py      NB + SB, one bounded read each       -> observed.Observed
    joined.py    the file's rows x what was read       -> joined.Joined
    status.py    Joined -> BackendStatus, the summary, the exit status
    doctor.py    Joined -> Finding (codes D..., compiler/codes.py DOCTOR_CODES),
    backends.py    the checks of one backend;  findings.py  the Finding itself
    render.py    text and JSON of both
    examine.py   the workflow: read, compile against NB as plan does, join
"""
