// What a person can do, as functions the views call: each talks to the API
// (api.js), updates the state (state.js) and publishes what changed. Errors
// are shown as notices here, so a view never has to handle them, and nothing
// is left unhandled (an unhandled rejection would leave the page half drawn).

import * as api from "./api.js";
import { describe } from "./errors.js";
import { isLocked, openChatId, pairById, publish, state } from "./state.js";

const PAGE_SIZE = 30; // pairs per page of a conversation
const MAX_PAGE_SIZE = 1000; // the API reads more as 1000
const REATTACH_TRIES = 8; // before giving up on a lost stream (about a minute)

// Notices.

let lastNoticeId = 0;

export function notify(text) {
  // The same message again replaces the old one rather than stacking up.
  state.notices = [...state.notices.filter((notice) => notice.text !== text), { id: ++lastNoticeId, text }];
  publish("notice");
}

export function dismiss(id) {
  state.notices = state.notices.filter((notice) => notice.id !== id);
  publish("notice");
}

export function report(error) {
  if (error?.name === "AbortError") return;
  if (!(error instanceof api.ApiError || error instanceof api.NetworkError)) console.warn(error);
  notify(describe(error));
  // Locked by a moderator since it was read: show it read-only from now on.
  if (error?.code === "chat_locked" && openChatId()) reloadChat({ branchId: state.branchId });
}

// Session.

export async function start() {
  api.session.onChange(({ signedIn, reason }) => {
    if (signedIn) return;
    closeChat();
    state.user = null;
    state.chats = { items: [], search: "", cursor: null, loading: false };
    publish("session", { reason });
  });
  if (!api.session.signedIn()) {
    publish("session");
    return;
  }
  try {
    state.user = await api.session.me();
  } catch (error) {
    if (error.status !== 401) report(error);
    publish("session");
    return;
  }
  await enterWorkspace();
}

async function enterWorkspace() {
  publish("session");
  const wanted = new URLSearchParams(location.hash.slice(1));
  let chatId = wanted.get("chat");
  const shared = wanted.get("fork");
  if (shared) {
    // "Continue this conversation" on a shared page (/s/<token>): the shared
    // pairs become a chat of this user's, opened in its place.
    try {
      chatId = (await api.shares.fork({ token: shared })).chat_id;
      history.replaceState(null, "", `#chat=${chatId}`);
    } catch (error) {
      history.replaceState(null, "", location.pathname);
      report(error);
    }
  }
  if (chatId) {
    await Promise.all([loadChats(), openChat(chatId)]);
  } else {
    newChat();
    await loadChats();
  }
}

// Resolves with null on success, or the error to show beside the form.
export async function logIn({ username, password }) {
  try {
    await api.session.login({ username, password });
    state.user = await api.session.me();
  } catch (error) {
    return error;
  }
  await enterWorkspace();
  return null;
}

export async function register({ username, password, email }) {
  try {
    await api.session.register({ username, password, email });
  } catch (error) {
    return error;
  }
  return logIn({ username, password });
}

export async function logOut() {
  try {
    await api.session.logout(); // the tokens are dropped even when this fails
  } catch (error) {
    report(error);
  }
  history.replaceState(null, "", location.pathname);
}

// The chat list.

let chatsTicket = 0; // the newest list request; older answers are dropped

export async function loadChats({ more = false } = {}) {
  const list = state.chats;
  if (more && (!list.cursor || list.loading)) return;
  const ticket = ++chatsTicket;
  list.loading = true;
  publish("chats");
  try {
    const page = await api.chats.list({ search: list.search, cursor: more ? list.cursor : undefined });
    if (ticket !== chatsTicket) return;
    const known = new Set(more ? list.items.map((chat) => chat.chat_id) : []);
    list.items = [...(more ? list.items : []), ...page.results.filter((chat) => !known.has(chat.chat_id))];
    // `next` is a whole URL; only its cursor is needed.
    list.cursor = page.next ? new URL(page.next).searchParams.get("cursor") : null;
  } catch (error) {
    if (ticket === chatsTicket) report(error);
  } finally {
    if (ticket === chatsTicket) {
      list.loading = false;
      publish("chats");
    }
  }
}

export function searchChats(text) {
  state.chats.search = text.trim();
  loadChats();
}

// A chat written to goes to the top of the list (most recently active first).
function putChatFirst(chat) {
  const list = state.chats;
  const matches = !list.search || chat.title.toLowerCase().includes(list.search.toLowerCase());
  list.items = [...(matches ? [chat] : []), ...list.items.filter((item) => item.chat_id !== chat.chat_id)];
  publish("chats");
}

function dropChat(chatId) {
  state.chats.items = state.chats.items.filter((item) => item.chat_id !== chatId);
  publish("chats");
}

// Opening a chat.

let openTicket = 0; // the newest open/reload; older answers are dropped

function setLocation(chatId) {
  history.replaceState(null, "", chatId ? `#chat=${chatId}` : location.pathname);
}

function closeChat() {
  for (const controller of state.following.values()) controller.abort();
  state.following.clear();
  liveText.clear();
  Object.assign(state, {
    draft: false,
    chat: null,
    pairs: [],
    hasMore: false,
    branchId: null,
    branches: [],
    unavailable: null,
  });
}

export function newChat() {
  openTicket++;
  closeChat();
  state.draft = true;
  setLocation(null);
  publish("chat");
  publish("pairs", { scroll: "bottom" });
  publish("branches");
}

export async function openChat(chatId) {
  closeChat();
  publish("chat");
  publish("pairs");
  publish("branches");
  setLocation(chatId);
  await reloadChat({ scroll: "bottom" });
}

// A search result: its chat on the branch that holds the pair (shown, not
// made active), scrolled to the pair, the words found marked in it.
export async function openPair({ chatId, branchId, position, marks }) {
  closeChat();
  publish("chat");
  publish("pairs");
  publish("branches");
  setLocation(chatId);
  await reloadChat({ branchId, position, scroll: "position", focus: { position, marks } });
}

// Read the open chat again: its tree and a page of a path (`branchId`, by
// default the active branch), the latest pairs or, with `position`, a page
// that still shows the pair at that position (a switched alternative).
async function reloadChat({ branchId = null, position = null, scroll = "bottom", focus = null } = {}) {
  const chatId = openChatId() ?? new URLSearchParams(location.hash.slice(1)).get("chat");
  if (!chatId) return;
  const ticket = ++openTicket;
  try {
    let tree, page;
    if (position === null) {
      // The page does not depend on the tree: both at once.
      [tree, page] = await Promise.all([
        api.branches.list({ chatId }),
        api.chats.page({ chatId, branchId: branchId ?? undefined, limit: PAGE_SIZE }),
      ]);
    } else {
      tree = await api.branches.list({ chatId });
      const shown = tree.branches.find((branch) => branch.branch_id === (branchId ?? tree.active_branch_id));
      let limit = PAGE_SIZE;
      if (shown) {
        const length = shown.fork_position + shown.message_count;
        limit = Math.min(MAX_PAGE_SIZE, Math.max(PAGE_SIZE, length - position + 3));
      }
      page = await api.chats.page({ chatId, branchId: shown?.branch_id, limit });
    }
    if (ticket !== openTicket) return;
    const { messages, has_more: hasMore, branch_id: shownId, ...chat } = page;
    state.draft = false;
    state.unavailable = null;
    state.chat = chat;
    state.branchId = shownId;
    state.branches = tree.branches;
    state.hasMore = hasMore;
    state.pairs = messages.map(withLiveText);
    publish("chat");
    publish("branches");
    publish("pairs", { scroll, focus });
    followGenerating(chatId);
  } catch (error) {
    if (ticket !== openTicket) return;
    if (error.status === 404 && !openChatId()) {
      notify("This chat no longer exists.");
      newChat();
      return;
    }
    report(error);
    if (!openChatId()) {
      // Opening failed (an outage): say so where the chat would be, with a way to try again.
      state.unavailable = chatId;
      publish("chat");
      publish("pairs");
    }
  }
}

// The open chat's tree again, for its pair counts: the service counts a
// generated pair a second into its answer, after the `pair` event had the
// tree read.
async function reloadTree(chatId) {
  if (openChatId() !== chatId) return;
  try {
    const tree = await api.branches.list({ chatId });
    if (openChatId() !== chatId) return;
    state.branches = tree.branches;
    publish("branches");
  } catch (error) {
    report(error);
  }
}

let olderLoading = false;

export async function loadOlder() {
  const chatId = openChatId();
  const first = state.pairs[0];
  if (!chatId || !first || !state.hasMore || olderLoading) return;
  const ticket = openTicket;
  olderLoading = true;
  try {
    const page = await api.chats.page({ chatId, branchId: state.branchId, before: first.response_id, limit: PAGE_SIZE });
    if (ticket !== openTicket) return;
    state.pairs = [...page.messages.map(withLiveText), ...state.pairs];
    state.hasMore = page.has_more;
    publish("pairs", { scroll: "keep" });
  } catch (error) {
    report(error);
  } finally {
    olderLoading = false;
  }
}

// Chat changes.

export async function renameChat(title) {
  try {
    const chat = await api.chats.rename({ chatId: openChatId(), title });
    state.chat = { ...state.chat, ...chat };
    putChatFirst(chat);
    publish("chat");
  } catch (error) {
    report(error);
  }
}

export async function deleteChat() {
  const chatId = openChatId();
  try {
    await api.chats.remove({ chatId });
  } catch (error) {
    report(error);
    return;
  }
  dropChat(chatId);
  newChat();
}

// Answers: asking, streaming, stopping, re-attaching.

// response_id -> the answer's text as streamed so far. A page read while an
// answer streams holds an older save of it (saved about once a second): the
// longer text wins.
const liveText = new Map();

function withLiveText(pair) {
  const live = liveText.get(pair.response_id);
  return live !== undefined && live.length > pair.response.length ? { ...pair, response: live } : pair;
}

// The service counts characters as Unicode code points; a JavaScript string
// counts UTF-16 units, two for each character outside the Basic Multilingual
// Plane (most emoji). Offsets are converted before any splice.
function codePoints(text) {
  let count = 0;
  for (let i = 0; i < text.length; i++, count++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) i++;
  }
  return count;
}

// The UTF-16 index in `text` of the character at code point `offset`.
function unitIndex(text, offset) {
  let i = 0;
  for (let seen = 0; seen < offset && i < text.length; seen++) {
    const unit = text.charCodeAt(i);
    i += unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

// A delta belongs at `offset` (in code points): text already there is
// skipped, so a delta sent twice (a re-attach) changes nothing. Returns false
// on a gap.
function applyDelta({ response_id: responseId, text, offset }) {
  const pair = pairById(responseId);
  const streamed = liveText.get(responseId) ?? "";
  // A page read meanwhile may hold more of the text than this stream has sent.
  const current = pair && pair.response.length > streamed.length ? pair.response : streamed;
  const length = codePoints(current);
  if (offset > length) return false;
  if (offset + codePoints(text) > length) {
    const joined = current.slice(0, unitIndex(current, offset)) + text;
    liveText.set(responseId, joined);
    if (pair) {
      pair.response = joined;
      publish("pair", responseId);
    }
  }
  return true;
}

// The pair as stored now replaces the one shown (its `alternatives`, which
// only pages carry, are kept).
function mergePair(stored) {
  const index = state.pairs.findIndex((pair) => pair.response_id === stored.response_id);
  if (index === -1) return;
  const shown = state.pairs[index];
  state.pairs[index] = { ...shown, ...stored, alternatives: stored.alternatives ?? shown.alternatives };
  publish("pair", stored.response_id);
}

// Wait `ms`, or less when the browser comes back online or `signal` aborts.
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done);
    signal.addEventListener("abort", done);
  });
}

function isTransient(error) {
  return error instanceof api.NetworkError || (error instanceof api.ApiError && error.status >= 500);
}

// Read an answer's event stream to its end. `open(signal)` starts it (a
// generating route, or stream-message). When the connection drops before
// `done` or `error` (a lost network, a server restart), it re-attaches with
// stream-message and goes on from the text it has. `onLead` gets `chat` and
// `branch`; `onStored` is called once the question is stored (the `pair`
// event) or with the error that kept it from being stored.
async function follow(chatId, open, { onLead = null, onStored = null, responseId = null } = {}) {
  const controller = new AbortController();
  let id = responseId;
  let lastEventId = null; // a re-attach goes on after it: nothing doubled, nothing lost
  let tries = 0;
  let events = open(controller.signal);
  if (id) state.following.set(id, controller);
  try {
    for (;;) {
      try {
        for await (const { event, data, id: eventId } of events) {
          tries = 0;
          if (eventId !== null && eventId !== "end") lastEventId = eventId;
          if (event === "chat" || event === "branch") {
            if (event === "chat") chatId = data.chat_id; // a new chat: known from here on
            await onLead?.(event, data);
          } else if (event === "pair") {
            liveText.set(data.response_id, data.response);
            if (!id) {
              id = data.response_id;
              state.following.set(id, controller);
              onStored?.(null);
              // Shown at once, its answer streaming into it; the chat read
              // again meanwhile brings its alternatives and the tree.
              showAsked(chatId, data);
              reloadChat({ scroll: "bottom" });
            } else {
              // Re-attached through the store, the text so far can lag what
              // this page already shows (it is saved about once a second):
              // the longer one wins when one begins the other.
              const shown = pairById(data.response_id)?.response ?? "";
              const ahead = shown.length > data.response.length && shown.startsWith(data.response);
              if (ahead) liveText.set(data.response_id, shown);
              mergePair(ahead ? { ...data, response: shown } : data);
            }
          } else if (event === "delta") {
            if (!applyDelta(data)) break; // a gap: re-attach
          } else if (event === "error" && !data.pair && data.errors?.[0]?.code === "service_unavailable") {
            break; // this server is going away (a deploy): re-attach through another
          } else if (event === "done" || event === "error") {
            liveText.delete(data.pair?.response_id ?? data.response_id ?? id);
            const final = event === "done" ? data : data.pair;
            // An error may come without the pair (it was deleted meanwhile):
            // the chat as it now is says what is left.
            if (final) mergePair(final);
            if (event === "error") notify(describe(data));
            if (!final || final.status === "generating") await reloadChat();
            else await reloadTree(chatId);
            if (state.chat?.chat_id === chatId) putChatFirst({ ...state.chat, updated_at: new Date().toISOString() });
            return;
          }
        }
      } catch (error) {
        if (controller.signal.aborted || error.name === "AbortError") return;
        if (!id || !isTransient(error)) {
          onStored?.(error);
          report(error);
          // A question may have been stored before the request failed.
          if (!id && openChatId() === chatId && isTransient(error)) await reloadChat();
          return;
        }
      }
      if (controller.signal.aborted) return;
      if (!id) {
        // Cut before the question's pair arrived: the page shows it if it
        // was stored, and follows it if it is being answered.
        onStored?.(null);
        await reloadChat();
        return;
      }
      if (++tries > REATTACH_TRIES) {
        notify("The answer's stream was lost. Reload the page to see the answer.");
        return;
      }
      await pause(Math.min(250 * 2 ** tries, 8000), controller.signal);
      if (controller.signal.aborted) return;
      events = api.messages.attach({ chatId, responseId: id, after: lastEventId, signal: controller.signal });
    }
  } finally {
    if (id && state.following.get(id) === controller) state.following.delete(id);
    publish("pair", id);
  }
}

// A question just stored, where it goes on the page: after the pairs before
// its position (an edit or a regeneration replaces what followed it).
function showAsked(chatId, pair) {
  if (openChatId() !== chatId) return;
  state.pairs = [
    ...state.pairs.filter((shown) => shown.position < pair.position),
    { ...pair, alternatives: [pair.branch_id] },
  ];
  publish("pairs", { scroll: "bottom" });
}

// Follow every answer of the page still being generated (after a reload, a
// chat opened while it answers) that this page does not read yet; stop
// reading the answers that left the page.
function followGenerating(chatId) {
  const shown = new Set(state.pairs.map((pair) => pair.response_id));
  for (const [responseId, controller] of state.following) {
    if (!shown.has(responseId)) controller.abort();
  }
  for (const pair of state.pairs) {
    if (pair.status === "generating" && !state.following.has(pair.response_id)) {
      const responseId = pair.response_id;
      follow(chatId, (signal) => api.messages.attach({ chatId, responseId, signal }), { responseId });
    }
  }
}

// Resolves once the question is stored (true) or could not be (false), while
// its answer goes on streaming.
function asking(run) {
  return new Promise((resolve) => {
    run((error) => resolve(!error))
      .catch(report)
      .finally(() => resolve(false)); // ended before the question was stored
  });
}

export function ask(question) {
  if (state.draft) {
    return asking((onStored) =>
      follow(null, (signal) => api.chats.createAsking({ question, signal }), {
        onStored,
        onLead: (event, chat) => {
          if (event !== "chat") return;
          state.chat = chat;
          state.draft = false;
          setLocation(chat.chat_id);
          putChatFirst(chat);
        },
      }),
    );
  }
  const chatId = openChatId();
  return asking((onStored) =>
    follow(chatId, (signal) => api.messages.ask({ chatId, question, signal }), { onStored }),
  );
}

export async function stop(responseId) {
  try {
    mergePair(await api.messages.stop({ chatId: openChatId(), responseId }));
  } catch (error) {
    report(error);
  }
}

export function regenerate(pair) {
  const chatId = openChatId();
  return asking((onStored) =>
    follow(chatId, (signal) => api.messages.regenerate({ chatId, responseId: pair.response_id, signal }), {
      onStored,
    }),
  );
}

// An edited question: a new branch forked right before the pair, its first
// pair the new question. Resolves as `ask` does.
export async function editQuestion(pair, question) {
  const chatId = openChatId();
  let forkId = null; // before the first pair
  if (pair.position > 0) {
    const index = state.pairs.findIndex((shown) => shown.response_id === pair.response_id);
    let previous = index > 0 ? state.pairs[index - 1] : null;
    if (!previous) {
      // The pair before it is on an older page: read just that one.
      try {
        const page = await api.chats.page({ chatId, branchId: state.branchId, before: pair.response_id, limit: 1 });
        previous = page.messages[0];
      } catch (error) {
        report(error);
        return false;
      }
    }
    forkId = previous.response_id;
  }
  return asking((onStored) =>
    follow(chatId, (signal) => api.branches.edit({ chatId, responseId: forkId, question, signal }), { onStored }),
  );
}

// Branches.

// Show another alternative of a pair ("‹ 2 / 3 ›"): make its branch the
// active one, so a reload shows it too. A locked chat cannot change its
// active branch: the alternative is only shown.
export async function switchAlternative(pair, step) {
  const index = pair.alternatives.indexOf(pair.branch_id);
  const target = pair.alternatives[index + step];
  if (!target) return;
  const focus = { position: pair.position, control: step < 0 ? "previous" : "next" };
  await showBranch(target, { position: pair.position, focus });
}

export async function showBranch(branchId, { position = null, focus = null } = {}) {
  const chatId = openChatId();
  if (!isLocked()) {
    try {
      state.chat = await api.branches.activate({ chatId, branchId });
    } catch (error) {
      report(error);
      return;
    }
    branchId = null; // the active one now
  }
  await reloadChat({ branchId, position, scroll: position === null ? "bottom" : "position", focus });
}

export async function renameBranch(branch, name) {
  try {
    await api.branches.rename({ chatId: openChatId(), branchId: branch.branch_id, name });
    state.branches = (await api.branches.list({ chatId: openChatId() })).branches;
    publish("branches");
    publish("chat");
  } catch (error) {
    report(error);
  }
}

export async function deleteBranch(branch, { cascade }) {
  try {
    await api.branches.remove({ chatId: openChatId(), branchId: branch.branch_id, cascade });
  } catch (error) {
    report(error);
    return;
  }
  await reloadChat(); // the active branch, which moved to the parent if it was deleted
}

// The branches under `branch`, at any depth.
export function descendants(branch) {
  const found = [];
  const frontier = [branch.branch_id];
  while (frontier.length) {
    const parent = frontier.shift();
    for (const child of state.branches.filter((b) => b.parent_branch_id === parent)) {
      found.push(child);
      frontier.push(child.branch_id);
    }
  }
  return found;
}
