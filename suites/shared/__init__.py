"""What several suites share that is not the framework: data sets, generated worlds, model kinds.

``harness/`` knows no particular suite, so a data set, a generated world or a
model kind that two or more suites (and their plugins) use lives here instead:
``data`` (the offline data sets, content-fingerprinted, and ``data_task``),
``classification`` (the ``Classifier`` kind and ``ClassificationData``) and
``attribute_world`` (the shapes world with ground-truth concepts). This package
is not a plugin: it registers nothing. What only one suite uses stays in that
suite's package.
"""
