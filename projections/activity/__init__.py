"""Activity: a relationship's contacts with their history of changes, and its interactions
and customer-care actions as one timeline, read back by staff and their managers."""
