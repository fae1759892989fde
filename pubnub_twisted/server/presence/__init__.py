"""The presence room of the embedded server: occupants, state, timeouts, answer shapes."""
