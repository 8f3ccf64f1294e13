"""The checks layer: one registered function per kind of promise, and the Hypothesis properties.

`conformance.checks.catalog` imports every check module, so importing it registers them all;
`conformance.checks.base` has the registry, the declarations (options and traits) and the
`CheckContext` a check runs in. Checks import the model and the target, never the engine.
"""
