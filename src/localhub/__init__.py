"""A local stand-in for Jina Hub ("Hubble"), for tests and the demo.

It speaks the Hub's push/status wire protocol over real HTTP on 127.0.0.1, keeps its state in
SQLite plus blobs under one folder, and enforces the Hub's rules (visibility, ownership and
secrets, tags and protected tags, build-env, and the build check of the shared
`executor_rules` package). It shares nothing with the client side of hub-push but the wire
protocol and those rules. See docs/local-hub.md.
"""
