"""Subscribe long-poll requests and the parsing of their answers."""
