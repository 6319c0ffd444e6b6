"""What a text says: tokens, topics, signals, place, personal-data spans."""
