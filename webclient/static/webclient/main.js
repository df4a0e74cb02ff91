// The reference chat client's entry point: draw the views, then start.
//
// Modules, as the backend is layered: api.js talks to the server (fetch,
// tokens, event streams; sse.js parses them), state.js holds what is shown,
// actions.js is what a person can do (it calls the API and updates the
// state), and views/ draw the state and call actions.

import { notify, report, start } from "./actions.js";
import * as chats from "./views/chats.js";
import * as conversation from "./views/conversation.js";
import * as dialogs from "./views/dialogs.js";
import * as find from "./views/find.js";
import * as layout from "./views/layout.js";
import * as notices from "./views/notices.js";
import * as session from "./views/session.js";
import * as transfer from "./views/transfer.js";
import * as tree from "./views/tree.js";

// Never a blank or silently stuck page: anything that escapes is said.
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  report(event.reason);
});
window.addEventListener("error", () => notify("Something went wrong on this page. Reload it to start again."));

for (const view of [notices, dialogs, layout, session, chats, conversation, tree, transfer, find]) view.mount();
start();
