"""Enumerations shared by results, statuses and configuration.

Names and values follow PubNub's Python SDK (``pubnub/enums.py``), so code
written against it reads the same.
"""

from __future__ import annotations

import enum

__all__ = ["PNOperationType", "PNReconnectionPolicy", "PNStatusCategory"]


class PNStatusCategory(enum.Enum):
    """What happened to a call, as reported in ``PNStatus.category``."""

    PNUnknownCategory = 1
    PNAcknowledgmentCategory = 2
    PNAccessDeniedCategory = 3
    PNTimeoutCategory = 4
    PNNetworkIssuesCategory = 5
    PNConnectedCategory = 6
    PNReconnectedCategory = 7
    PNDisconnectedCategory = 8
    PNUnexpectedDisconnectCategory = 9
    PNCancelledCategory = 10
    PNBadRequestCategory = 11
    PNMalformedFilterExpressionCategory = 12
    PNMalformedResponseCategory = 13
    PNDecryptionErrorCategory = 14
    PNTLSConnectionFailedCategory = 15
    PNTLSUntrustedCertificateCategory = 16
    PNInternalExceptionCategory = 17
    PNSubscriptionChangedCategory = 18
    PNConnectionErrorCategory = 19
    PNSerializationErrorCategory = 20


class PNOperationType(enum.Enum):
    """Which call a status belongs to."""

    PNSubscribeOperation = 1
    PNUnsubscribeOperation = 2
    PNPublishOperation = 3
    PNWhereNowOperation = 5
    PNHeartbeatOperation = 6
    PNSetStateOperation = 7
    PNAddChannelsToGroupOperation = 8
    PNRemoveChannelsFromGroupOperation = 9
    PNChannelGroupsOperation = 10
    PNRemoveGroupOperation = 11
    PNChannelsForGroupOperation = 12
    PNTimeOperation = 14
    PNHereNowOperation = 18
    PNGetState = 19
    PNHistoryDeleteOperation = 23
    PNMessageCountOperation = 24
    PNFireOperation = 25
    PNSignalOperation = 26
    PNFetchMessagesOperation = 45
    PNAccessManagerRevokeToken = 40
    PNAccessManagerGrantToken = 41


class PNReconnectionPolicy(enum.Enum):
    """How failed calls (and, later, the subscribe loop) are retried."""

    NONE = 1
    LINEAR = 2
    EXPONENTIAL = 3
