pytest_plugins = [
    "pytester",
    "tests.fixtures.reference",
    "tests.fixtures.hostile",
    "tests.fixtures.report_runs",
    "tests.fixtures.browser",
]
