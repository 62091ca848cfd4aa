"""Built-in suites; each module is a reliabench plugin listed in harness.plugins.DEFAULT_PLUGINS."""
