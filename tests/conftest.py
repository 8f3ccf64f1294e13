pytest_plugins = ["pytester", "tests.fixtures.reference"]
