"""Channel groups (PubNub's channel registration API)."""
