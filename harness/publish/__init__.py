"""Publishing: the static leaderboard site (templates and static assets ship inside this package)."""

from harness.publish.site import build_site

__all__ = ["build_site"]
