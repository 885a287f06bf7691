"""asv benchmarks for arrayforge.

Every benchmark class times arrayforge and its NumPy twin side by side
(``time_arrayforge`` / ``time_numpy``), so the history shows the ratio, not just
a time.  ``setup`` builds the inputs and runs the arrayforge expression until it
is warm, so kernel compilation is never inside a ``time_`` benchmark; compile
cost is measured on its own in :mod:`.compilation` (``timeraw_``, fresh
processes) and compile counts are tracked there (``track_``).
"""
