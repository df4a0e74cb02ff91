// What to tell a person about an error, from the API's stable error codes.

import { ApiError, NetworkError } from "./api.js";

const MESSAGES = {
  chat_locked: "A moderator locked this chat: you can read it, but not change it.",
  generation_in_progress: "An answer is still being written on this branch: wait for it, or stop it.",
  model_unavailable:
    "The language model cannot be reached right now. Your question is kept: use Regenerate once it is back.",
  model_busy: "The language model is busy with other answers. Try again in a moment.",
  model_timeout: "The language model did not start answering in time. Your question is kept: try Regenerate.",
  service_unavailable: "The service cannot reach its data store right now; nothing was changed. Try again in a moment.",
  not_found: "This chat or branch no longer exists (it may have been deleted elsewhere).",
  response_required: "This server does not generate answers (its language model is switched off).",
  root_branch: "The main branch cannot be deleted; delete the chat instead.",
  branch_has_children: "This branch has branches of its own: delete them too, or keep it.",
  not_authenticated: "Please log in.",
  token_not_valid: "Your session has ended. Please log in again.",
  no_active_account: "Unknown username or wrong password.",
};

// Why a stored answer ended in an error (a pair's `error_code`), in a few words.
const REASONS = {
  model_unavailable: "the language model could not be reached.",
  model_timeout: "the language model did not start answering in time.",
  model_error: "the language model answered with an error.",
  service_unavailable: "the answer could not be saved.",
};

export function reasonOf(errorCode) {
  return REASONS[errorCode] ?? "the generation failed.";
}

// `error`: an ApiError, a NetworkError, or the error body of a stream's
// `error` event ({type, errors}).
export function describe(error) {
  if (error instanceof NetworkError) {
    return "The server cannot be reached. Check your connection; nothing is lost, try again in a moment.";
  }
  const errors = error instanceof ApiError ? error.errors : (error?.errors ?? []);
  const code = errors[0]?.code;
  if (code === "throttled" || error?.status === 429) {
    const wait = error?.retryAfter;
    return wait ? `Too many requests: try again in ${wait} s.` : "Too many requests: try again in a moment.";
  }
  if (code === "model_error") return `The language model answered with an error: ${errors[0].detail}`;
  if (MESSAGES[code]) return MESSAGES[code];
  if (errors.length) {
    return errors.map((item) => (item.attr && item.attr !== "non_field_errors" ? `${item.attr}: ${item.detail}` : item.detail)).join(" ");
  }
  if (error?.status >= 500) return "The server had a problem with this request. Try again in a moment.";
  return error?.message || "Something went wrong.";
}
