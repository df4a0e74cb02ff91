// Confirmations and names asked in modal <dialog>s (keyboard: Tab moves
// inside, Escape cancels, Enter in a field saves), each as a promise.

import { $ } from "./dom.js";

function open(dialog) {
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// Resolves true when confirmed.
export function confirm({ title, text, ok }) {
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  const answer = open($("confirm-dialog"));
  $("confirm-dialog").querySelector("button[value=cancel]").focus(); // the safe choice first
  return answer;
}

// Resolves with the new name, or null when cancelled or unchanged.
export async function askName({ title, label, value }) {
  const input = $("rename-input");
  $("rename-title").textContent = title;
  $("rename-label").textContent = label;
  input.value = value;
  const saved = open($("rename-dialog"));
  input.select();
  if (!(await saved)) return null;
  const name = input.value.trim();
  return name && name !== value ? name : null;
}

export function mount() {
  // Cancel is not a submit button, so that Enter in a field saves rather
  // than cancels (a form's first submit button is the one Enter presses).
  for (const button of document.querySelectorAll("dialog button[value=cancel]")) {
    button.addEventListener("click", () => button.closest("dialog").close("cancel"));
  }
}
