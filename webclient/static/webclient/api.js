// The only module that talks to the server: every route of the public API
// this client uses, the tokens, and the event streams of generated answers.
//
// Errors: a response that is not a success throws ApiError (the API's error
// shape: {type, errors: [{code, detail, attr}]}); a server that cannot be
// reached throws NetworkError; an aborted request throws the browser's
// AbortError (callers that abort ignore it).

import { readEvents } from "./sse.js";

const API_ROOT = document.body.dataset.apiRoot; // "/api/v1/"

// Where the tokens are kept, and why.
//
// Both tokens live in sessionStorage: they survive a reload of the tab (the
// session must), but not the tab itself, and no other tab shares them. That
// matters because refresh tokens rotate: each refresh returns a new refresh
// token and revokes the old one, so two tabs refreshing with one shared token
// (localStorage) would log each other out. An HttpOnly cookie would keep the
// tokens out of reach of scripts altogether, but the API takes bearer tokens
// in headers and refresh tokens in JSON bodies; the page's
// Content-Security-Policy (no inline or foreign scripts) and rendering text,
// never HTML, are what keep other scripts from reading sessionStorage.
// The access token is kept as well, so that a reload needs no refresh (the
// auth routes are throttled per client address).
const STORAGE_KEY = "branching-chat.tokens";
// Refresh this long before the access token expires rather than after a 401.
const EXPIRY_MARGIN_MS = 30_000;

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    super(errors[0]?.detail || `The server answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.type = body?.type ?? null;
    this.errors = errors;
    this.code = errors[0]?.code ?? null;
    this.retryAfter = retryAfter; // seconds, on 429
  }
}

export class NetworkError extends Error {
  constructor() {
    super("The server cannot be reached.");
    this.name = "NetworkError";
  }
}

// Session.

let tokens = readTokens();
const sessionListeners = new Set();

function readTokens() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    return stored?.access && stored?.refresh ? stored : null;
  } catch {
    return null;
  }
}

// `reason`: why the session ended (null on a login or a refresh).
function setTokens(value, reason = null) {
  tokens = value;
  if (value) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of sessionListeners) listener({ signedIn: value !== null, reason });
}

function expiresAt(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

// One refresh at a time: with rotation, a second refresh sent with the same
// refresh token would be refused (it was revoked by the first).
let refreshing = null;

function refreshTokens() {
  refreshing ??= (async () => {
    const sent = tokens?.refresh;
    if (!sent) throw new ApiError(401, { errors: [{ code: "not_authenticated", detail: "Please log in." }] });
    const response = await send("POST", "auth/refresh", { body: { refresh: sent } });
    if (tokens?.refresh !== sent) return; // logged out meanwhile
    if (response.status === 401) {
      setTokens(null, "Your session has ended. Please log in again.");
      throw await errorOf(response);
    }
    if (!response.ok) throw await errorOf(response); // throttled, outage: the token is still good
    setTokens(await response.json());
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function freshAccessToken() {
  if (!tokens) throw new ApiError(401, { errors: [{ code: "not_authenticated", detail: "Please log in." }] });
  if (expiresAt(tokens.access) - Date.now() < EXPIRY_MARGIN_MS) await refreshTokens();
  return tokens.access;
}

// Requests.

function urlOf(path, query) {
  const url = new URL(API_ROOT + path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, value);
  }
  return url;
}

async function send(method, path, { query, body, access, accept = "application/json", signal } = {}) {
  const headers = { Accept: accept };
  // A file goes as multipart form data, whose boundary the browser writes.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (access) headers.Authorization = `Bearer ${access}`;
  try {
    return await fetch(urlOf(path, query), {
      method,
      headers,
      body: body === undefined || form ? body : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new NetworkError();
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, a cut connection
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, body, retryAfter);
}

// An authenticated request: a success response, or ApiError / NetworkError.
async function request(method, path, options = {}) {
  let response = await send(method, path, { ...options, access: await freshAccessToken() });
  if (response.status === 401 && tokens) {
    // Expired early (a clock off, a server restart with another key): once more.
    await refreshTokens();
    response = await send(method, path, { ...options, access: tokens.access });
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function json(method, path, options) {
  const response = await request(method, path, options);
  return response.status === 204 ? null : response.json();
}

// An event stream: yields {event, data} until the server ends it. Errors
// before the stream starts (409, 429, 503 …) throw ApiError as above.
async function* stream(method, path, options) {
  const response = await request(method, path, { ...options, accept: "text/event-stream" });
  yield* readEvents(response.body);
}

// The routes.

export const session = {
  signedIn: () => tokens !== null,
  onChange(listener) {
    sessionListeners.add(listener);
  },
  async register({ username, password, email }) {
    const body = { username, password, ...(email ? { email } : {}) };
    const response = await send("POST", "auth/register", { body });
    if (!response.ok) throw await errorOf(response);
    return response.json();
  },
  async login({ username, password }) {
    const response = await send("POST", "auth/login", { body: { username, password } });
    if (!response.ok) throw await errorOf(response);
    setTokens(await response.json());
  },
  async logout() {
    try {
      if (tokens) {
        // Refresh first if the access token is about to expire: refreshing
        // rotates the refresh token, and the one to revoke is the newest.
        await freshAccessToken();
        const refresh = tokens?.refresh;
        if (refresh) await json("POST", "auth/logout", { body: { refresh } });
      }
    } finally {
      setTokens(null);
    }
  },
  me: () => json("GET", "auth/me"),
};

export const chats = {
  list: ({ search, cursor, pageSize = 20 }) =>
    json("GET", "chats/list-chats", { query: { search: search || undefined, cursor, page_size: pageSize } }),
  create: ({ title }) => json("POST", "chats/create-chat", { body: title ? { title } : {} }),
  // The first question of a new chat, answered as a stream (`chat` comes first).
  createAsking: ({ question, signal }) =>
    stream("POST", "chats/create-chat", { body: { question, stream: true }, signal }),
  page: ({ chatId, branchId, before, limit }) =>
    json("GET", "chats/get-chat", { query: { chat_id: chatId, branch_id: branchId, before, limit } }),
  rename: ({ chatId, title }) => json("PUT", "chats/update-chat", { body: { chat_id: chatId, title } }),
  remove: ({ chatId }) => json("DELETE", "chats/delete-chat", { query: { chat_id: chatId } }),
};

export const messages = {
  ask: ({ chatId, question, signal }) =>
    stream("POST", "messages/add-message", { body: { chat_id: chatId, question, stream: true }, signal }),
  regenerate: ({ chatId, responseId, signal }) =>
    stream("POST", "messages/regenerate", { body: { chat_id: chatId, response_id: responseId, stream: true }, signal }),
  stop: ({ chatId, responseId }) =>
    json("POST", "messages/stop-generation", { body: { chat_id: chatId, response_id: responseId } }),
  // Re-attach to an answer being generated: its text so far, then the rest;
  // with `after` (the id of the last event received), only what came after it.
  attach: ({ chatId, responseId, after, signal }) =>
    stream("GET", "messages/stream-message", {
      query: { chat_id: chatId, response_id: responseId, after: after ?? undefined },
      signal,
    }),
};

export const branches = {
  list: ({ chatId }) => json("GET", "branches/get-branches", { query: { chat_id: chatId } }),
  // An edited question: a branch forked after `responseId` (null: before the
  // first pair) whose first pair is the new question, answered as a stream.
  edit: ({ chatId, responseId, question, signal }) =>
    stream("POST", "branches/create-branch", {
      body: { chat_id: chatId, response_id: responseId, question, stream: true },
      signal,
    }),
  activate: ({ chatId, branchId }) =>
    json("PUT", "branches/set-active-branch", { body: { chat_id: chatId, branch_id: branchId } }),
  rename: ({ chatId, branchId, name }) =>
    json("PUT", "branches/rename-branch", { body: { chat_id: chatId, branch_id: branchId, name } }),
  remove: ({ chatId, branchId, cascade }) =>
    json("DELETE", "branches/delete-branch", { query: { chat_id: chatId, branch_id: branchId, cascade: cascade ? "true" : "false" } }),
};

// The file name a download was given (Content-Disposition), or `fallback`.
function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=utf-8''([^;]+)/i.exec(header);
  if (encoded) return decodeURIComponent(encoded[1]);
  return /filename="([^"]+)"/.exec(header)?.[1] ?? fallback;
}

export const transfer = {
  // format: "json" (the whole tree), "chatgpt" or "markdown" (the active path).
  async download({ chatId, format }) {
    const response = await request("GET", "chats/export-chat", { query: { chat_id: chatId, format }, accept: "*/*" });
    return { blob: await response.blob(), filename: filenameOf(response, `chat.${format === "markdown" ? "md" : "json"}`) };
  },
  // Our export or a ChatGPT conversations.json: {imported: [...], skipped: [...]}.
  upload({ file }) {
    const form = new FormData();
    form.append("file", file);
    return json("POST", "chats/import-chats", { body: form });
  },
};

export const shares = {
  // The shown branch up to its last finished pair, as a link.
  create({ chatId, branchId }) {
    return json("POST", "shares/create-share", { body: { chat_id: chatId, branch_id: branchId } });
  },
  list({ chatId }) {
    return json("GET", "shares/list-shares", { query: { chat_id: chatId, page_size: 100 } });
  },
  remove({ shareId }) {
    return request("DELETE", "shares/delete-share", { body: { share_id: shareId } });
  },
  // A shared conversation (its link's last part) as a new chat of the caller's.
  fork({ token }) {
    return json("POST", "shares/fork-shared", { body: { token } });
  },
};

export const search = {
  // {results: [{chat_id, branch_id, position, snippet, ...}], next_cursor}
  messages({ q, cursor }) {
    return json("GET", "search/search-messages", { query: { q, cursor } });
  },
};
