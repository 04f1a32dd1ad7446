"""The branch registry as staff read it: one row per branch."""
