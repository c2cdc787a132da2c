"""Test helpers: executor folders, the local Hub as a subprocess, the runner's contract, the demo.

Not part of the action's package: the image ships only `hub_push`.
"""
