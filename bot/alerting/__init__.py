"""Alert intake in the core: grouping, routing rules, maintenance windows, storms."""
