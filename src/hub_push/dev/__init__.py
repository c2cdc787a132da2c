"""Development tools: the local Hub process, the runner emulation and the demo (not used by the action)."""
