"""Loopback fakes of the platforms and APIs Citewise talks to (127.0.0.1, port 0)."""
