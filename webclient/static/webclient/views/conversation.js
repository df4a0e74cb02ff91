// The open chat: its header, the pairs of the path shown (older ones loaded
// on scrolling up), each with its alternatives ("‹ 2 / 3 ›"), edit and
// regenerate, and the composer with its Stop button.
//
// Answers are shown as plain text (white-space: pre-wrap), not rendered
// Markdown: the text streams in token by token, where half-written Markdown
// would re-render and jump, and plain text needs no HTML sanitiser to be safe.

import {
  ask,
  deleteChat,
  editQuestion,
  loadOlder,
  openChat,
  regenerate,
  renameChat,
  stop,
  switchAlternative,
} from "../actions.js";
import { reasonOf } from "../errors.js";
import { generatingPair, isLocked, pairById, state, subscribe } from "../state.js";
import { askName, confirm } from "./dialogs.js";
import { $, h, plural, whenVisible } from "./dom.js";

const NEAR_BOTTOM_PX = 80;

let sending = false; // a question sent, not stored yet
let older;

function statusText(pair) {
  if (pair.status === "generating") return pair.response ? "Writing…" : "Thinking…";
  if (pair.status === "failed") return `No answer: ${reasonOf(pair.error_code)} Regenerate to try again.`;
  if (pair.status === "interrupted") {
    return pair.finish_reason === "error"
      ? `Interrupted: ${reasonOf(pair.error_code)} The answer is incomplete.`
      : "Stopped: the answer is incomplete.";
  }
  if (pair.finish_reason === "length") return "Cut off at the length limit.";
  return "";
}

function switcher(pair) {
  const alternatives = pair.alternatives ?? [pair.branch_id];
  if (alternatives.length < 2) return null;
  const index = alternatives.indexOf(pair.branch_id);
  return h(
    "div",
    { class: "switcher", role: "group", "aria-label": `Alternative ${index + 1} of ${alternatives.length}` },
    h(
      "button",
      {
        type: "button",
        class: "icon",
        "aria-label": "Previous alternative",
        dataset: { control: "previous" },
        disabled: index === 0,
        onclick: () => switchAlternative(pair, -1),
      },
      "‹",
    ),
    h("span", { class: "switcher-count" }, `${index + 1} / ${alternatives.length}`),
    h(
      "button",
      {
        type: "button",
        class: "icon",
        "aria-label": "Next alternative",
        dataset: { control: "next" },
        disabled: index === alternatives.length - 1,
        onclick: () => switchAlternative(pair, 1),
      },
      "›",
    ),
  );
}

function editForm(pair, article) {
  const input = h("textarea", { id: `edit-${pair.response_id}`, rows: 3, required: true });
  input.value = pair.question;
  const cancel = () => article.replaceWith(pairElement(pairById(pair.response_id) ?? pair));
  const form = h(
    "form",
    {
      class: "edit-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const question = input.value;
        if (!question.trim()) return;
        form.querySelectorAll("button, textarea").forEach((control) => (control.disabled = true));
        if (!(await editQuestion(pair, question))) {
          form.querySelectorAll("button, textarea").forEach((control) => (control.disabled = false));
        }
      },
      onkeydown: (event) => {
        if (event.key === "Escape") cancel();
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
      },
    },
    h("label", { for: input.id }, "Edited question (answered on a new branch; the original is kept)"),
    input,
    h(
      "div",
      { class: "edit-buttons" },
      h("button", { type: "button", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, "Send edited question"),
    ),
  );
  queueMicrotask(() => input.focus());
  return form;
}

function pairElement(pair) {
  const locked = isLocked();
  const generating = pair.status === "generating";
  const article = h("article", {
    class: `pair status-${pair.status}`,
    id: `pair-${pair.response_id}`,
    "aria-label": `Message ${pair.position + 1}`,
    dataset: { responseId: pair.response_id, position: pair.position, status: pair.status },
  });
  const questionText = h("div", { class: "text question-text" }, pair.question);
  const edit =
    !locked && !generating
      ? h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => questionText.replaceWith(editForm(pair, article)),
          },
          "Edit",
        )
      : null;
  const status = statusText(pair);
  article.append(
    h(
      "div",
      { class: "turn question" },
      h("div", { class: "turn-head" }, h("span", { class: "who" }, "You"), switcher(pair), edit),
      questionText,
    ),
    h(
      "div",
      { class: "turn answer", "aria-busy": generating ? "true" : "false" },
      h(
        "div",
        { class: "turn-head" },
        h("span", { class: "who" }, "Assistant"),
        pair.model ? h("span", { class: "model" }, pair.model) : null,
      ),
      h("div", { class: "text answer-text" }, pair.response),
      h("p", { class: "pair-status", hidden: !status }, status),
      !locked && !generating
        ? h(
            "div",
            { class: "tools" },
            h("button", { type: "button", class: "link", onclick: () => regenerate(pair) }, "Regenerate"),
          )
        : null,
    ),
  );
  return article;
}

function nearBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
}

// A search result's words, marked where they are in its pair's texts (as
// text nodes and <mark> elements, never HTML).
function markWords(article, words) {
  const escaped = [...new Set(words)].filter(Boolean).map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (!escaped.length) return;
  const pattern = new RegExp(`(${escaped.join("|")})`, "giu");
  for (const box of article.querySelectorAll(".question-text, .answer-text")) {
    const parts = box.textContent.split(pattern);
    box.replaceChildren(...parts.map((part, index) => (index % 2 ? h("mark", {}, part) : part)));
  }
  article.classList.add("found");
}

function renderPairs({ scroll = "bottom", focus = null } = {}) {
  const box = $("conversation");
  const fromBottom = box.scrollHeight - box.scrollTop;
  $("pairs").replaceChildren(...state.pairs.map(pairElement));
  $("older").hidden = !state.hasMore;
  $("conversation-empty").hidden = state.pairs.length > 0 || state.unavailable !== null;
  $("chat-unavailable").hidden = state.unavailable === null;
  if (scroll === "keep") {
    box.scrollTop = box.scrollHeight - fromBottom; // older pairs went in above: stay on the same ones
  } else if (scroll === "position" && focus) {
    const article = $("pairs").querySelector(`[data-position="${focus.position}"]`);
    if (article && focus.marks?.length) markWords(article, focus.marks);
    article?.scrollIntoView({ block: "center" });
    const buttons = [...(article?.querySelectorAll(".switcher button") ?? [])];
    // Keep the keyboard where it was: on the arrow pressed, or the other one at an end.
    (buttons.find((b) => b.dataset.control === focus.control && !b.disabled) ?? buttons.find((b) => !b.disabled))?.focus();
  } else {
    box.scrollTop = box.scrollHeight;
  }
  renderComposer();
  if (state.hasMore) older.recheck();
}

// One pair changed (a streamed answer): its text in place while it streams,
// the whole pair when its status changes.
function renderPair(responseId) {
  renderComposer();
  const pair = responseId && pairById(responseId);
  const article = responseId && document.getElementById(`pair-${responseId}`);
  if (!pair || !article) return;
  const box = $("conversation");
  const pinned = nearBottom(box);
  if (article.dataset.status === pair.status && pair.status === "generating") {
    article.querySelector(".answer-text").textContent = pair.response;
    const status = article.querySelector(".pair-status");
    status.textContent = statusText(pair);
  } else if (!article.querySelector(".edit-form")) {
    article.replaceWith(pairElement(pair));
  }
  if (pinned) box.scrollTop = box.scrollHeight;
}

function renderComposer() {
  const locked = isLocked();
  const generating = generatingPair();
  $("composer").hidden = locked || state.unavailable !== null;
  $("chat-locked").hidden = !locked;
  $("send").hidden = Boolean(generating);
  $("stop").hidden = !generating;
  $("send").disabled = sending;
}

function renderHeader() {
  // A chat that could not be read is named as the list names it.
  const chat = state.chat ?? state.chats.items.find((item) => item.chat_id === state.unavailable) ?? null;
  const shown = state.branches.find((branch) => branch.branch_id === state.branchId);
  $("chat-title").textContent = chat ? chat.title : "New chat";
  $("chat-title").title = chat ? chat.title : ""; // the whole title, when it is cut short
  $("chat-status").hidden = chat?.status !== "locked";
  $("chat-status").textContent = "locked";
  $("chat-branch").textContent = shown && state.branches.length > 1 ? `on branch “${shown.name}”` : "";
  $("rename-chat").hidden = !state.chat || isLocked();
  $("delete-chat").hidden = !state.chat;
  document.title = chat ? `${chat.title} · Branching chat` : "Branching chat";
  renderComposer();
}

async function send(event) {
  event.preventDefault();
  const input = $("question");
  const question = input.value;
  if (!question.trim() || sending || generatingPair()) return;
  sending = true;
  input.value = "";
  renderComposer();
  const stored = await ask(question);
  sending = false;
  if (!stored && !input.value) input.value = question; // not lost: send it again
  renderComposer();
}

export function mount() {
  $("composer").addEventListener("submit", send);
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => {
    const pair = generatingPair();
    if (pair) stop(pair.response_id);
  });
  $("older").addEventListener("click", loadOlder);
  $("retry-chat").addEventListener("click", () => openChat(state.unavailable));
  older = whenVisible($("older"), loadOlder);
  $("rename-chat").addEventListener("click", async () => {
    const title = await askName({ title: "Rename the chat", label: "Title", value: state.chat.title });
    if (title) await renameChat(title);
  });
  $("delete-chat").addEventListener("click", async () => {
    const count = state.chat.branch_count;
    const confirmed = await confirm({
      title: "Delete this chat?",
      text: `“${state.chat.title}”, its ${plural(count, "branch", "branches")} and all their messages will be deleted. This cannot be undone.`,
      ok: "Delete the chat",
    });
    if (confirmed) await deleteChat();
  });
  subscribe("chat", renderHeader);
  subscribe("branches", renderHeader);
  subscribe("pairs", renderPairs);
  subscribe("pair", renderPair);
}
