"""reliabench's core: plugins, the grid runner, the DuckDB store, statistics and the CLI.

The core knows no particular suite. Plugin authors need only what is exported here.
"""

from harness.hookspecs import hookimpl
from harness.registry import Curve, MethodSpec, Metric, ModelSpec, Profile, Suite, Task
from harness.store import load_results

__all__ = ["Curve", "MethodSpec", "Metric", "ModelSpec", "Profile", "Suite", "Task", "hookimpl", "load_results"]
