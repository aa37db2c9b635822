"""Taking in a delivery: reading it, its key, its data dictionary and the statistics behind it."""
