"""The results of ``grant_token`` and ``revoke_token`` (tokens hidden from ``repr``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PNGrantTokenResult", "PNRevokeTokenResult"]


@dataclass(frozen=True, slots=True)
class PNGrantTokenResult:
    """A granted token (``result.token``; its ``repr`` hides it: tokens are credentials)."""

    token: str = field(repr=False)

    def get_token(self) -> str:
        """The token (PubNub SDK spelling)."""
        return self.token

    def __str__(self) -> str:
        return "Grant token: <hidden>"


@dataclass(frozen=True, slots=True)
class PNRevokeTokenResult:
    """A revocation's answer: its HTTP-like status (200)."""

    status: int
