pytest_plugins = ["pytester", "tests.fixtures.reference", "tests.fixtures.hostile"]
