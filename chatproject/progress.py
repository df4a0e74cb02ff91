"""Progress for long management commands, always on the command's stderr:
stdout carries only what scripts read (the results and the summary lines).
A bar on a terminal (tqdm), plain counts otherwise, so logs stay readable."""

from tqdm import tqdm


def progress(items, *, total, stream, label, every=None):
    """Yield `items`, showing how far along they are on `stream` (a command's
    `self.stderr`)."""
    if stream.isatty():
        # The raw stream: Django's OutputWrapper ends every write with a newline,
        # which would turn each redraw of the bar into a line of its own.
        raw = getattr(stream, "_out", stream)
        yield from tqdm(items, total=total, desc=label, file=raw, leave=False)
        return
    every = every or max(1, total // 10)
    for done, item in enumerate(items, start=1):
        yield item
        if done % every == 0 or done == total:
            stream.write(f"{label}: {done}/{total}")
