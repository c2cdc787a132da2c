"""Development tools (not used by the action): the local Hub process, runner emulation, demo."""
