"""Message content lives in MongoDB (`MONGODB_URI`).

Unset, or a `mongomock://host/db` URI, selects the in-process stand-in, which
keeps nothing after the process ends. The connection itself is opened lazily by
`chats.apps.ChatsConfig.ready()` through the content repository.
"""

from .environment import env, env_or_default

MONGODB_URI = env_or_default("MONGODB_URI", "mongomock://localhost/chat")
# Applied only when the URI does not carry its own serverSelectionTimeoutMS.
MONGODB_SERVER_SELECTION_TIMEOUT_MS = env.int("MONGODB_SERVER_SELECTION_TIMEOUT_MS", default=5000)
# Start-up warns loudly when content would not survive the process.
MONGODB_WARN_IF_EPHEMERAL = True
# On the stand-in, a starting server deletes the chats whose content died with
# the previous process (chats.ephemeral); nothing happens on a real MongoDB.
PRUNE_CHATS_WITHOUT_CONTENT_AT_START = True

CONTENT_BUCKET_SIZE = env.int("CONTENT_BUCKET_SIZE", default=100)
CONTENT_BUCKET_BYTES = env.int("CONTENT_BUCKET_BYTES", default=4 * 1024 * 1024)
