// Message search (the chats panel) and the share dialog (the chat's header).

import { closeSharing, createShare, openResult, openSharing, revokeShare, searchMessages } from "../find.js";
import { state, subscribe } from "../state.js";
import { $, h, plural } from "./dom.js";
import { closePanels } from "./layout.js";

const SEARCH_DELAY_MS = 300;

// A snippet as text with its highlights as <mark>: built from slices of the
// text (code points, as the API counts them), never as HTML.
function snippetElement(snippet) {
  const chars = [...snippet.text];
  const parts = [];
  let at = 0;
  for (const [start, end] of snippet.highlights) {
    if (start > at) parts.push(chars.slice(at, start).join(""));
    parts.push(h("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  if (at < chars.length) parts.push(chars.slice(at).join(""));
  return h("span", { class: "snippet" }, ...parts);
}

function renderFound() {
  const found = state.found;
  $("search-results").hidden = !found;
  $("chat-list").hidden = Boolean(found);
  $("chat-list-empty").hidden ||= Boolean(found);
  if (!found) return;
  $("search-summary").textContent = found.problem
    ? found.problem
    : found.loading && !found.results.length
      ? "Searching…"
      : found.results.length
        ? `${plural(found.results.length, "message")}${found.next ? " and more" : ""}`
        : "No message has these words.";
  $("search-list").replaceChildren(
    ...found.results.map((result) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "search-result",
            dataset: { responseId: result.response_id },
            onclick: () => {
              closePanels();
              openResult(result);
            },
          },
          h("span", { class: "result-where" }, result.chat_title, h("span", { class: "muted" }, ` · ${result.branch_name}`)),
          ...["question", "response"]
            .filter((field) => result.snippet[field])
            .map((field) => h("span", { class: `result-${field}` }, snippetElement(result.snippet[field]))),
        ),
      ),
    ),
  );
  $("more-results").hidden = !found.next;
  $("more-results").disabled = found.loading;
}

function renderSharing() {
  const dialog = $("share-dialog");
  const sharing = state.sharing;
  $("share-chat").hidden = !state.chat;
  if (!sharing) {
    if (dialog.open) dialog.close();
    return;
  }
  $("share-created").hidden = !sharing.created;
  $("share-url").value = sharing.created?.url ?? "";
  $("share-list").replaceChildren(
    ...sharing.shares.map((share) =>
      h(
        "li",
        { dataset: { shareId: share.share_id } },
        h("a", { href: share.url, target: "_blank", rel: "noreferrer" }, `${plural(share.pair_count, "pair")}`),
        h("span", { class: "muted" }, ` · ${new Date(share.created_at).toLocaleString()}`),
        h("button", { type: "button", class: "link danger", onclick: () => revokeShare(share.share_id) }, "Revoke"),
      ),
    ),
  );
  $("share-none").hidden = sharing.shares.length > 0 || sharing.busy;
  if (!dialog.open) dialog.showModal();
}

export function mount() {
  let timer;
  $("message-search").addEventListener("input", (event) => {
    clearTimeout(timer);
    timer = setTimeout(() => searchMessages(event.target.value), SEARCH_DELAY_MS);
  });
  $("more-results").addEventListener("click", () => searchMessages($("message-search").value, { more: true }));
  $("share-chat").addEventListener("click", () => openSharing());
  $("share-create").addEventListener("click", () => createShare());
  $("share-copy").addEventListener("click", async () => {
    await navigator.clipboard?.writeText($("share-url").value).catch(() => null);
    $("share-url").select();
  });
  $("share-dialog").addEventListener("close", () => state.sharing && closeSharing());
  subscribe("found", renderFound);
  subscribe("sharing", renderSharing);
  subscribe("chat", renderSharing);
  subscribe("session", () => {
    $("message-search").value = "";
    state.found = null;
    renderFound();
  });
}
