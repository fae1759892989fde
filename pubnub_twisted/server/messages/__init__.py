"""The message room of the embedded server: publish, signal, history, counts, delete."""
