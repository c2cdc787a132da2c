"""hub-push: publish a Jina Executor folder to Jina Hub from GitHub Actions."""

__version__ = "0.1.0"
