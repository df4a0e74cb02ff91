// What the page shows, in one place. Actions (actions.js) change it and then
// publish the topic that changed; views (views/) subscribe to the topics they
// draw and read the state. Nothing else writes here.
//
// Topics: "session", "chats", "chat" (the open chat: its title, status,
// branch), "pairs" (the whole conversation), "pair" (one pair changed, with
// its response_id: a streamed answer), "branches" (the tree), "notice",
// "imported" (chats brought in from a file), "found" (a message search),
// "sharing" (the share dialog).

export const state = {
  user: null, // {id, username, email} once signed in
  chats: {
    items: [], // list-chats results, most recently active first
    search: "",
    cursor: null, // of the next page; null: no more
    loading: false,
  },
  draft: false, // a new chat not created yet: its first question creates it
  chat: null, // the open chat (get-chat without its messages)
  pairs: [], // the loaded part of the path shown, oldest first
  hasMore: false, // older pairs exist before pairs[0]
  branchId: null, // the branch whose path is shown
  branches: [], // get-branches of the open chat, root first
  unavailable: null, // the id of a chat that could not be read (an outage): shown with "Try again"
  // response_id -> AbortController of the stream this page reads for it.
  following: new Map(),
  notices: [], // [{id, text}] shown above everything
  imported: null, // chats brought in from a file: {busy: file name}, then {file, imported, skipped}
  found: null, // a message search: {q, results, next, loading, problem}
  sharing: null, // the share dialog: {shares, created, busy}
};

const subscribers = new Map();

export function subscribe(topic, callback) {
  if (!subscribers.has(topic)) subscribers.set(topic, new Set());
  subscribers.get(topic).add(callback);
}

export function publish(topic, detail) {
  for (const callback of subscribers.get(topic) ?? []) callback(detail);
}

// Reads shared by several views.

export function openChatId() {
  return state.chat?.chat_id ?? null;
}

export function pairById(responseId) {
  return state.pairs.find((pair) => pair.response_id === responseId) ?? null;
}

// The shown path's pair being generated, if any: a branch generates one
// answer at a time, always its newest pair.
export function generatingPair() {
  const last = state.pairs.at(-1);
  return last?.status === "generating" ? last : null;
}

export function isLocked() {
  return state.chat?.status === "locked";
}
