// At phone width the chat list and the branch tree are drawers over the
// conversation, opened from the top bar; wider, they sit beside it.

import { $ } from "./dom.js";

const PANELS = { "toggle-chats": "chats-panel", "toggle-tree": "tree-panel" };

export function closePanels() {
  for (const [button, panel] of Object.entries(PANELS)) {
    $(panel).classList.remove("open");
    $(button).setAttribute("aria-expanded", "false");
  }
}

function toggle(button) {
  const panel = $(PANELS[button]);
  const opening = !panel.classList.contains("open");
  closePanels();
  if (opening) {
    panel.classList.add("open");
    $(button).setAttribute("aria-expanded", "true");
    panel.querySelector("button, input")?.focus();
  }
}

export function mount() {
  for (const button of Object.keys(PANELS)) {
    $(button).addEventListener("click", () => toggle(button));
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.querySelector(".panel.open")) closePanels();
  });
}
