"""The Hubble client: Jina Hub's push and build-status protocol. Knows nothing of GitHub.

`hub_push.hub.client` (httpx) talks to the Hub; `hub_push.hub.models` holds the typed values
that cross the wire; `hub_push.hub.usage` says how people refer to a pushed executor.
"""
