"""Internals of jtorch.utils.data: collation and the worker loop."""
