// Server-sent events read from a fetch() response body.
//
// The routes that generate answer a POST with `text/event-stream`, which the
// browser's EventSource cannot send (it only GETs, without headers), so the
// stream is read here: bytes -> text (UTF-8, a character may be split across
// chunks) -> events, each ended by a blank line. Every event's data is JSON.

// Split `text` into complete events and the unfinished rest.
// Returns {events: [{event, data, id}], rest}; `id` is the event's `id:`
// (null without one), what a re-attach names to go on after it.
export function parseEvents(text) {
  // A lone "\r" at the end may be the first half of "\r\n": keep it for later.
  const cut = text.endsWith("\r") ? text.length - 1 : text.length;
  const normalised = text.slice(0, cut).replace(/\r\n?/g, "\n");
  const blocks = normalised.split("\n\n");
  const rest = blocks.pop() + text.slice(cut);
  const events = [];
  for (const block of blocks) {
    let event = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue; // comments keep connections alive
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (data.length) events.push({ event, data: JSON.parse(data.join("\n")), id });
  }
  return { events, rest };
}

// Yield the events of a response body as they arrive. Leaving the loop early
// (break, an exception, an aborted fetch) cancels the body, which closes the
// connection; the server's generation goes on without it.
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return; // an unfinished last event is dropped, as EventSource does
      buffer += decoder.decode(value, { stream: true });
      const parsed = parseEvents(buffer);
      buffer = parsed.rest;
      yield* parsed.events;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
