"""Market management read models: segments, campaigns and campaign results."""
