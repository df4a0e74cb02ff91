"""The content repository: the only code that talks to MongoDB.

Every other module reads and writes question/response pairs through the
functions exported here. One job per module:

- `connection`: connecting, the time budget and counting of every call, the
  serialisation of calls to the in-process stand-in;
- `documents`: the MongoEngine document of a bucket and its indexes;
- `buckets`: the hot path (appends, page reads, finding a pair, fork lists,
  deletions);
- `bulk`: a whole chat's pairs written or read in one call (imports, exports);
- `maintenance`: scans and repairs for the operators' commands.

Driver errors that mean "MongoDB is unreachable" leave the package as
`ContentStoreUnavailable` (503), whatever the call.
"""

from chatproject.errors import ContentStoreUnavailable

from .buckets import (
    COMPLETE,
    FAILED,
    GENERATING,
    INTERRUPTED,
    PAIR_STATUSES,
    PairLocation,
    StoredPair,
    add_fork,
    append_pair,
    branch_length,
    delete_branch_content,
    delete_chat_content,
    locate_pair,
    read_all_pairs,
    read_pair,
    read_pairs_before,
    remove_fork,
    save_generation,
)
from .bulk import new_pair, read_chat, stored_pairs, write_chat
from .connection import calls, connect, database_name, is_ephemeral, ping
from .maintenance import (
    bucket_outlines,
    content_chat_ids,
    ensure_indexes,
    existing_indexes,
    pair_tallies,
    renumber_buckets,
)

__all__ = [
    "COMPLETE",
    "FAILED",
    "GENERATING",
    "INTERRUPTED",
    "PAIR_STATUSES",
    "ContentStoreUnavailable",
    "PairLocation",
    "StoredPair",
    "add_fork",
    "append_pair",
    "branch_length",
    "bucket_outlines",
    "calls",
    "connect",
    "content_chat_ids",
    "database_name",
    "delete_branch_content",
    "delete_chat_content",
    "ensure_indexes",
    "existing_indexes",
    "is_ephemeral",
    "locate_pair",
    "new_pair",
    "pair_tallies",
    "ping",
    "read_all_pairs",
    "read_chat",
    "stored_pairs",
    "read_pair",
    "read_pairs_before",
    "remove_fork",
    "save_generation",
    "renumber_buckets",
    "write_chat",
]
