"""pubnub-twisted: a Twisted-native client for PubNub's Presence API.

Quick look::

    from pubnub_twisted import PubNub, PNConfiguration

    config = PNConfiguration()
    config.subscribe_key = "sub-c-..."
    config.uuid = "my-uuid"
    pubnub = PubNub(config)
    envelope = yield pubnub.here_now().channels("lobby").deferred()
"""

from pubnub_twisted._version import __version__
from pubnub_twisted.access import (
    UUID,
    Channel,
    Group,
    PNToken,
    PNTokenPermissions,
    PNTokenResources,
)
from pubnub_twisted.access.results import PNGrantTokenResult, PNRevokeTokenResult
from pubnub_twisted.callbacks import SubscribeCallback, SubscribeListener
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.enums import PNOperationType, PNReconnectionPolicy, PNStatusCategory
from pubnub_twisted.errors import PubNubException
from pubnub_twisted.keeper import KeptMember, PresenceKeeper, PresenceKeeperListener
from pubnub_twisted.models import (
    PNChannelGroupsAddChannelResult,
    PNChannelGroupsListResult,
    PNChannelGroupsRemoveChannelResult,
    PNChannelGroupsRemoveGroupResult,
    PNEnvelope,
    PNErrorData,
    PNGetStateResult,
    PNHeartbeatResult,
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowOccupantsData,
    PNHereNowResult,
    PNLeaveResult,
    PNSetStateResult,
    PNStatus,
    PNWhereNowResult,
)
from pubnub_twisted.models_messages import (
    PNDeleteMessagesResult,
    PNFetchMessageItem,
    PNFetchMessagesResult,
    PNFireResult,
    PNMessageCountResult,
    PNPublishResult,
    PNSignalResult,
)
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
    PNTimeResponse,
)
from pubnub_twisted.presence_view import PresenceView, PresenceViewListener, PresenceViewPhase
from pubnub_twisted.pubnub import PubNub, PubNubTwisted
from pubnub_twisted.pubsub.reconnect import Reconnection

__all__ = [
    "UUID",
    "Channel",
    "Group",
    "KeptMember",
    "PNChannelGroupsAddChannelResult",
    "PNChannelGroupsListResult",
    "PNChannelGroupsRemoveChannelResult",
    "PNChannelGroupsRemoveGroupResult",
    "PNConfiguration",
    "PNDeleteMessagesResult",
    "PNEnvelope",
    "PNErrorData",
    "PNFetchMessageItem",
    "PNFetchMessagesResult",
    "PNFireResult",
    "PNGetStateResult",
    "PNGrantTokenResult",
    "PNHeartbeatResult",
    "PNHereNowChannelData",
    "PNHereNowOccupantData",
    "PNHereNowOccupantsData",
    "PNHereNowResult",
    "PNLeaveResult",
    "PNMessageCountResult",
    "PNMessageResult",
    "PNOperationType",
    "PNPresenceEventResult",
    "PNPublishResult",
    "PNReconnectionPolicy",
    "PNRevokeTokenResult",
    "PNSetStateResult",
    "PNSignalMessageResult",
    "PNSignalResult",
    "PNStatus",
    "PNStatusCategory",
    "PNTimeResponse",
    "PNToken",
    "PNTokenPermissions",
    "PNTokenResources",
    "PNWhereNowResult",
    "PresenceKeeper",
    "PresenceKeeperListener",
    "PresenceView",
    "PresenceViewListener",
    "PresenceViewPhase",
    "PubNub",
    "PubNubException",
    "PubNubTwisted",
    "Reconnection",
    "SubscribeCallback",
    "SubscribeListener",
    "__version__",
]
