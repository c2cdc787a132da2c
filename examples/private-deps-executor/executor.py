from jina import Executor, requests


class PrivateDepsExecutor(Executor):
    """Tags each Document with the version of a privately hosted package."""

    @requests
    def tag(self, docs, **kwargs):
        for doc in docs:
            doc.tags["private_deps"] = True
