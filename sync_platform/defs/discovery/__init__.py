"""Schema discovery: an hourly snapshot of every system's schema, with a drift check."""
