"""Everything the tests and the benchmark drive the app with, in one place.

- ``fakeslack``, ``faketeams``: local fakes of the Slack Web API and the Bot
  Connector (with its token signing keys), over HTTP on loopback.
- ``slackreq``: signed Slack requests, over HTTP or Socket Mode.
- ``slack``, ``teams``: the app in this process behind a transport, with
  its production listener pool to wait on; ``live`` and ``faults``: the
  same with its own store, for security and fault tests; ``process``: the
  real ``jigsaw`` as a subprocess, for crash tests.
- ``slack_driver``, ``staff``, ``teams_driver``: a member of staff or a
  DSL clicking and typing as they would.
- ``pg``: a real PostgreSQL schema a test, when a server is there.
"""
