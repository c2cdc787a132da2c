"""`python -m hub_push`: the action's entrypoint."""

from hub_push.cli import main

raise SystemExit(main())
