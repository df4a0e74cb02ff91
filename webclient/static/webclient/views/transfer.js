// Download the open chat (the menu in the chat's header) and bring chats in
// from a file (the chats panel), with what was imported and skipped, and why.

import { closeImport, downloadChat, importChats } from "../transfer.js";
import { state, subscribe } from "../state.js";
import { $, h, plural } from "./dom.js";

function renderMenu() {
  $("download-menu").hidden = !state.chat;
}

function renderImport() {
  const dialog = $("import-dialog");
  const result = state.imported;
  $("import-file").disabled = Boolean(result?.busy);
  if (!result) {
    if (dialog.open) dialog.close();
    return;
  }
  if (result.busy) {
    $("import-summary").textContent = `Importing ${result.busy}…`;
    $("import-imported").replaceChildren();
    $("import-skipped").replaceChildren();
  } else {
    $("import-summary").textContent =
      `${result.file}: ${plural(result.imported.length, "chat")} imported, ${plural(result.skipped.length, "conversation")} skipped.`;
    $("import-imported").replaceChildren(
      ...result.imported.map((chat) =>
        h(
          "li",
          {},
          h("strong", {}, chat.title),
          ` · ${plural(chat.branches, "branch", "branches")}, ${plural(chat.pairs, "pair")}`,
          chat.dropped_parts ? ` · ${plural(chat.dropped_parts, "non-text part")} left out` : null,
        ),
      ),
    );
    $("import-skipped").replaceChildren(
      ...result.skipped.map((skip) =>
        h("li", {}, h("strong", {}, skip.title ?? `Conversation ${skip.index + 1}`), ` · ${skip.code}: ${skip.detail}`),
      ),
    );
  }
  $("import-skipped-title").hidden = !result.skipped?.length;
  if (!dialog.open) dialog.showModal();
}

export function mount() {
  const menu = $("download-menu");
  for (const button of menu.querySelectorAll("button[data-format]")) {
    button.addEventListener("click", () => {
      menu.open = false;
      downloadChat(button.dataset.format);
    });
  }
  // A <details> closes only from its summary: Escape and a click elsewhere too.
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  $("import-file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = ""; // the same file can be chosen again
    if (file) importChats(file);
  });
  $("import-dialog").addEventListener("close", closeImport);
  subscribe("chat", renderMenu);
  subscribe("imported", renderImport);
}
