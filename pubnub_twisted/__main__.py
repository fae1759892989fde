"""``python -m pubnub_twisted``: the command line (see :mod:`pubnub_twisted.cli`)."""

from pubnub_twisted.cli import main

main()
