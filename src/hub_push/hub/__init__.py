"""The Hubble client: Jina Hub's push and build-status protocol. Knows nothing of GitHub."""

from hub_push.hub.client import HubClient
from hub_push.hub.models import BuildResult, ExecutorResult, PushRequest, PushResult, User

__all__ = ["BuildResult", "ExecutorResult", "HubClient", "PushRequest", "PushResult", "User"]
