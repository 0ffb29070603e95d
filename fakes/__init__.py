"""Protocol-faithful fakes on 127.0.0.1 (port 0): Slack, Discord and the literature APIs.

Shared by the tests and the benchmarks (which is why they live outside `tests/`, and
outside the shipped packages); the real client libraries are pointed at them, and
assertions are on what they received.
"""
