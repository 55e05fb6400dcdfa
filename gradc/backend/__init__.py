"""Backends: the reference interpreter, and one folder per target that lowers a graph to a module."""
