"""Access Manager v3 endpoints: grant_token and revoke_token."""
