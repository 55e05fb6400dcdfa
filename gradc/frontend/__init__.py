"""Frontends: source text (parse) and Python functions (pyfunc) in, a graph with symbolic shapes out."""
