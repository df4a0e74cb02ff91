// What a person can do with files: download the open chat (each format) and
// bring chats in from a file. Actions like those of actions.js: they call the
// API, update the state and publish what changed; errors become notices.

import * as api from "./api.js";
import { loadChats, report } from "./actions.js";
import { openChatId, publish, state } from "./state.js";

// Hand a file to the browser as a download.
function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // After the browser has taken it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export async function downloadChat(format) {
  try {
    const { blob, filename } = await api.transfer.download({ chatId: openChatId(), format });
    save(blob, filename);
  } catch (error) {
    report(error);
  }
}

// state.imported: null, {busy: file name} while it uploads, then the
// server's {imported, skipped} with the file's name.
export async function importChats(file) {
  state.imported = { busy: file.name };
  publish("imported");
  try {
    const result = await api.transfer.upload({ file });
    state.imported = { file: file.name, ...result };
    publish("imported");
    await loadChats();
  } catch (error) {
    state.imported = null;
    publish("imported");
    report(error);
  }
}

export function closeImport() {
  state.imported = null;
  publish("imported");
}
