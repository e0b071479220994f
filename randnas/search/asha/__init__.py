"""ASHA: promotion-based asynchronous successive halving (reference section 6).

`rule` holds the pure decisions (rung resources, which result to promote); `scheduler` keeps the rungs
and answers `suggest()` / `on_result()`. Neither starts a process nor reads a clock.
"""
