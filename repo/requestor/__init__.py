"""The requestor's side: pulling a pinned version and asking whether it is superseded."""
