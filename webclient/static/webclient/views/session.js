// Logging in, registering and out; which part of the page is shown.

import { logIn, logOut, register } from "../actions.js";
import { describe } from "../errors.js";
import { state, subscribe } from "../state.js";
import { $ } from "./dom.js";

function fields(form) {
  return Object.fromEntries(new FormData(form));
}

function handle(form, errorBox, submit) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    errorBox.textContent = "";
    button.disabled = true;
    try {
      const error = await submit(fields(form));
      if (error) errorBox.textContent = describe(error);
      else form.reset();
    } finally {
      button.disabled = false;
    }
  });
}

function render({ reason } = {}) {
  const signedIn = state.user !== null;
  $("loading").hidden = true;
  $("auth").hidden = signedIn;
  $("workspace").hidden = !signedIn;
  $("session-tools").hidden = !signedIn;
  $("whoami").textContent = signedIn ? `Signed in as ${state.user.username}` : "";
  if (!signedIn) {
    if (reason) $("login-error").textContent = reason;
    $("login-username").focus();
  } else {
    $("question").focus();
  }
}

export function mount() {
  handle($("login-form"), $("login-error"), logIn);
  handle($("register-form"), $("register-error"), register);
  $("logout").addEventListener("click", logOut);
  subscribe("session", render);
}
