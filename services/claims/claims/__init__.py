"""claims: complaints and conflicts raised by partners."""
