"""Progress for long management commands: a bar on a terminal (tqdm), plain
counts otherwise, so logs and pipes stay readable."""

from tqdm import tqdm


def progress(items, *, total, stdout, label, every=None):
    if stdout.isatty():
        # The raw stream: Django's OutputWrapper ends every write with a newline,
        # which would turn each redraw of the bar into a line of its own.
        stream = getattr(stdout, "_out", stdout)
        yield from tqdm(items, total=total, desc=label, file=stream, leave=False)
        return
    every = every or max(1, total // 10)
    for done, item in enumerate(items, start=1):
        yield item
        if done % every == 0 or done == total:
            stdout.write(f"{label}: {done}/{total}")
