// The chat list: most recently active first, search, more on scroll, new chat.

import { loadChats, newChat, openChat, searchChats } from "../actions.js";
import { openChatId, state, subscribe } from "../state.js";
import { $, h, whenVisible } from "./dom.js";
import { closePanels } from "./layout.js";

const SEARCH_DELAY_MS = 250;

let more;

function when(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function render() {
  const list = state.chats;
  const current = openChatId() ?? state.unavailable;
  $("chat-list").replaceChildren(
    ...list.items.map((chat) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "chat-link",
            "aria-current": chat.chat_id === current ? "page" : null,
            dataset: { chatId: chat.chat_id },
            onclick: () => {
              closePanels();
              openChat(chat.chat_id);
            },
          },
          h("span", { class: "chat-title" }, chat.title),
          h("time", { datetime: chat.updated_at }, when(chat.updated_at)),
        ),
      ),
    ),
  );
  $("chat-list-empty").hidden = list.items.length > 0 || list.loading;
  $("chat-list-empty").textContent = list.search ? "No chat title contains this." : "No chats yet.";
  $("more-chats").hidden = list.cursor === null;
  $("more-chats").disabled = list.loading;
  if (!list.loading) more.recheck();
}

export function mount() {
  $("new-chat").addEventListener("click", () => {
    closePanels();
    newChat();
    $("question").focus();
  });
  let timer;
  $("chat-search").addEventListener("input", (event) => {
    clearTimeout(timer);
    timer = setTimeout(() => searchChats(event.target.value), SEARCH_DELAY_MS);
  });
  $("more-chats").addEventListener("click", () => loadChats({ more: true }));
  more = whenVisible($("more-chats"), () => loadChats({ more: true }));
  subscribe("chats", render);
  subscribe("chat", render);
  subscribe("session", () => {
    $("chat-search").value = state.chats.search;
  });
}
