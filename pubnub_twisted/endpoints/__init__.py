"""One module per REST endpoint; ``base`` holds what they share."""
