"""PubNub's Presence REST API: one module per endpoint."""
