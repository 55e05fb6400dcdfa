"""Graph to graph: the rewrite rules and their driver, reverse and forward mode, derived derivative graphs."""
