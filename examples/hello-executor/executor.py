from docarray import DocumentArray
from jina import Executor, requests


class HelloExecutor(Executor):
    """Sets each Document's text to a greeting."""

    @requests
    def greet(self, docs: DocumentArray, **kwargs):
        for doc in docs:
            doc.text = f"hello, {doc.text or 'world'}"
