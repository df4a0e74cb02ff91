"""Stop, from any process, before or after the first token.

The stop is recorded on the run's row and published on Redis: the process
running the generation closes the model's stream at once (its next
heartbeat finds the row's flag, should the message not reach it), stores
the pair `interrupted` with the text so far and sends its last event, which
the stopping request waits for. A generation whose process died, or that
does not end within STOP_WAIT, is ended by the stopping request itself.
"""

from chats import content_repository
from chats.content_repository import GENERATING, StoredPair

from . import claims, control, liveness, readers, worker
from .liveness import HEARTBEAT_EVERY

# Longer than a heartbeat: a stop reaches a process that Redis cannot.
STOP_WAIT = 2 * HEARTBEAT_EVERY + 0.5


def stop(*, chat_id, pair: StoredPair) -> StoredPair | None:
    """The pair as stored once its generation is stopped (a pair no longer
    generating comes back as it is); None when it was deleted meanwhile."""
    if pair.status != GENERATING:
        return pair
    local = worker.running(pair.response_id)
    if local is not None:
        local.stop()
        final = local.wait(timeout=STOP_WAIT)
        if final is not None:
            return content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
    run = claims.request_stop(pair.response_id)
    if run is None or claims.is_dead(run.heartbeat_at):
        return liveness.recover(chat_id=chat_id, response_id=pair.response_id)
    control.publish_stop(pair.response_id)
    readers.wait_for_end(chat_id=chat_id, pair=pair, timeout=STOP_WAIT)
    final = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
    if final is None or final.status != GENERATING:
        return final
    # Nobody ended it in time: its process is stuck or out of reach. End it
    # from here with the text it saved; its next save fails, and it stops.
    return liveness.recover(chat_id=chat_id, response_id=pair.response_id, only_if_dead=False)
