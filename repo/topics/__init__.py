"""Topic repositories: trials harmonised to one dictionary, pooled into one table, and meta-analysed."""
