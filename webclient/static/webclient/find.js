// Finding and sharing: search the messages of every chat, open a result
// where its pair is; share the shown branch as a link, list and revoke the
// open chat's links. Actions like those of actions.js: they call the API,
// update the state and publish what changed; errors become notices.

import * as api from "./api.js";
import { openPair, report } from "./actions.js";
import { openChatId, publish, state } from "./state.js";

let searchTicket = 0; // the newest search; older answers are dropped

// state.found: null (no search), or {q, results, next, loading}.
export async function searchMessages(text, { more = false } = {}) {
  const q = text.trim();
  const ticket = ++searchTicket;
  if (!q) {
    state.found = null;
    publish("found");
    return;
  }
  const before = more && state.found?.q === q ? state.found : { q, results: [], next: null };
  state.found = { ...before, loading: true };
  publish("found");
  try {
    const page = await api.search.messages({ q, cursor: more ? before.next : undefined });
    if (ticket !== searchTicket) return;
    state.found = { q, results: [...before.results, ...page.results], next: page.next_cursor, loading: false };
  } catch (error) {
    if (ticket !== searchTicket) return;
    // A query with nothing to look for is said in the list, not as an error.
    const nothing = error.code === "no_search_terms";
    state.found = { q, results: [], next: null, loading: false, problem: nothing ? error.message : null };
    if (!nothing) report(error);
  }
  publish("found");
}

export function openResult(result) {
  const marks = Object.values(result.snippet).flatMap((snippet) =>
    snippet.highlights.map(([start, end]) => [...snippet.text].slice(start, end).join("")),
  );
  return openPair({ chatId: result.chat_id, branchId: result.branch_id, position: result.position, marks });
}

// state.sharing: null (closed), or {shares, created, busy}.
export async function openSharing() {
  state.sharing = { shares: [], created: null, busy: true };
  publish("sharing");
  await listShares();
}

async function listShares() {
  try {
    const page = await api.shares.list({ chatId: openChatId() });
    state.sharing = { ...state.sharing, shares: page.results, busy: false };
  } catch (error) {
    state.sharing = { ...state.sharing, busy: false };
    report(error);
  }
  publish("sharing");
}

export async function createShare() {
  try {
    const share = await api.shares.create({ chatId: openChatId(), branchId: state.branchId });
    state.sharing = { ...state.sharing, created: share };
  } catch (error) {
    report(error);
  }
  await listShares();
}

export async function revokeShare(shareId) {
  try {
    await api.shares.remove({ shareId });
    if (state.sharing.created?.share_id === shareId) state.sharing = { ...state.sharing, created: null };
  } catch (error) {
    report(error);
  }
  await listShares();
}

export function closeSharing() {
  state.sharing = null;
  publish("sharing");
}
