"""A fix for RQ's worker shutdown, shared by the worker process and the tests."""

from __future__ import annotations

from typing import Any

# RQ 2.12's worker reads its pubsub channel in a thread that waits up to 60 s for a
# message. On shutdown, closing the pubsub can wait for that read to return, so a
# stopping worker sometimes hung for a minute: longer than the 30 s Heroku allows
# after SIGTERM. A 1 s wait keeps the stop short and costs one idle read a second.
PUBSUB_WAIT_SECONDS = 1.0


class QuickPubSubMixin:
    """Subscribe to the worker's pubsub channel with a short read wait."""

    def subscribe(self: Any) -> None:
        self.log.info(
            "Worker %s: subscribing to channel %s",
            self.name,
            self.pubsub_channel_name,
        )
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )
