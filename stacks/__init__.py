"""The example app: the library's constructs composed into deployable stacks."""
