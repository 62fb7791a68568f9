"""Benchmark of the Slack app against a bare Bolt app (``python -m bench.run``)."""
