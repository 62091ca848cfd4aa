"""Built-in suites, each a plugin listed in harness.plugins.DEFAULT_PLUGINS; ``shared`` is what several use."""
