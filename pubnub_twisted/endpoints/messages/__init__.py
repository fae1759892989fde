"""Messaging endpoints: publish, fire, signal, fetch_messages, message_counts, delete_messages."""
