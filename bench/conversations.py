"""ChatGPT conversations for the benchmarks that seed through the import
path (bench/search.py, bench/shares.py): one path of pairs, no branches."""

START = 1_764_000_000.0


def linear(pairs, *, title, conversation_id):
    """A conversation of `pairs` (question, answer) on one path."""
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
    parent = "root"
    for index, texts in enumerate(pairs):
        for role, node, text in zip(("user", "assistant"), (f"u{index}", f"a{index}"), texts, strict=True):
            mapping[node] = {
                "id": node, "parent": parent, "children": [],
                "message": {"id": node, "author": {"role": role}, "create_time": START + index,
                            "content": {"content_type": "text", "parts": [text]},
                            "status": "finished_successfully", "metadata": {}},
            }
            mapping[parent]["children"].append(node)
            parent = node
    return {"title": title, "conversation_id": conversation_id, "mapping": mapping, "current_node": parent,
            "create_time": START, "update_time": START + len(pairs)}
