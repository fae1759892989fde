"""pubnub-twisted's trial test suite."""
