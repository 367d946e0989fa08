"""Bench settings: the real TSKR settings, with the bench-only URLconf (the app's routes + baselines).

The baselines never reach tskr.urls: they exist only while the bench serves this module.
"""
from tskr.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
