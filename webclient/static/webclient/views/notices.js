// Messages about errors, above everything, each with a button to dismiss it.

import { dismiss } from "../actions.js";
import { state, subscribe } from "../state.js";
import { $, h } from "./dom.js";

function render() {
  $("notices").replaceChildren(
    ...state.notices.map((notice) =>
      h(
        "div",
        { class: "notice" },
        h("p", {}, notice.text),
        h("button", { type: "button", class: "icon", "aria-label": "Dismiss this message", onclick: () => dismiss(notice.id) }, "×"),
      ),
    ),
  );
}

export function mount() {
  subscribe("notice", render);
}
