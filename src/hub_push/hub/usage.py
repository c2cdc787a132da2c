"""How people refer to a pushed executor: usage strings and the Hub portal page."""

from __future__ import annotations

from hub_push.hub.models import ExecutorResult

#: Jina Hub's API and the portal that shows its executors.
JINA_HUB_API = "https://api.hubble.jina.ai"
PORTAL = "https://cloud.jina.ai/executor"


def docker_uses(executor: ExecutorResult) -> str:
    """The `uses:` string for a Flow, as `jina hub push` prints it, never with the secret.

    With an owner (a login push): `jinaai+docker://owner/Name[:tag]`; otherwise the legacy
    `jinahub+docker://Name[/tag]`. A private executor published without a login also needs
    its SECRET (`jinahub+docker://Name:SECRET/tag`); we never print or output that form.
    """
    tag = executor.tags[0] if executor.tags else ""
    name = executor.name or executor.id
    if executor.owner and not executor.secret:
        return f"jinaai+docker://{executor.owner}/{name}" + (f":{tag}" if tag else "")
    return f"jinahub+docker://{name}" + (f"/{tag}" if tag else "")


def portal_url(executor_id: str, hub_url: str = JINA_HUB_API) -> str:
    """The executor's page: Jina's portal for Jina Hub, `HUB/executor/ID/` for another Hub."""
    if not executor_id:
        return ""
    if not hub_url or hub_url.rstrip("/") == JINA_HUB_API:
        return f"{PORTAL}/{executor_id}/"
    return f"{hub_url.rstrip('/')}/executor/{executor_id}/"
