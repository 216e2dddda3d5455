"""The settings ``bench_load.py`` serves: radgov's own, with one more URL (load_urls)."""

from radgov.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.load_urls"
