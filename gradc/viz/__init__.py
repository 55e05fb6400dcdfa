"""Pictures: Graphviz drawings of the forward and backward passes with their values."""
