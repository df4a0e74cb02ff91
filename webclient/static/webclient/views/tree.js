// The chat's branches as a tree beside the conversation: where each forks,
// how many pairs it holds, the active one marked; click one to show it,
// rename it, or delete it (asking whether its own branches go too).

import { deleteBranch, descendants, renameBranch, showBranch } from "../actions.js";
import { isLocked, state, subscribe } from "../state.js";
import { askName, confirm } from "./dialogs.js";
import { $, h, plural } from "./dom.js";
import { closePanels } from "./layout.js";

function forkText(branch) {
  if (branch.is_root) return "root";
  return branch.fork_position === 0 ? "before the first pair" : `after pair ${branch.fork_position}`;
}

async function remove(branch) {
  const below = descendants(branch);
  const confirmed = await confirm(
    below.length
      ? {
          title: `Delete the branch “${branch.name}” and its branches?`,
          text:
            `It has ${plural(below.length, "branch", "branches")} of its own ` +
            `(${below.map((b) => `“${b.name}”`).join(", ")}), which would be deleted with it, ` +
            "with all their messages. This cannot be undone.",
          ok: `Delete ${plural(below.length + 1, "branch", "branches")}`,
        }
      : {
          title: `Delete the branch “${branch.name}”?`,
          text: `Its ${plural(branch.message_count, "pair")} will be deleted. This cannot be undone.`,
          ok: "Delete the branch",
        },
  );
  if (confirmed) await deleteBranch(branch, { cascade: below.length > 0 });
}

async function rename(branch) {
  const name = await askName({ title: "Rename the branch", label: "Name", value: branch.name });
  if (name) await renameBranch(branch, name);
}

function node(branch, children) {
  const locked = isLocked();
  const active = branch.is_active;
  const shown = branch.branch_id === state.branchId;
  return h(
    "li",
    { class: `branch${shown ? " shown" : ""}`, dataset: { branchId: branch.branch_id } },
    h(
      "div",
      { class: "branch-row" },
      h(
        "button",
        {
          type: "button",
          class: "branch-name",
          "aria-current": shown ? "true" : null,
          onclick: () => {
            closePanels();
            showBranch(branch.branch_id);
          },
        },
        branch.name,
      ),
      active ? h("span", { class: "badge" }, "active") : null,
      h("span", { class: "branch-meta" }, `${forkText(branch)} · ${plural(branch.message_count, "pair")}`),
      locked
        ? null
        : h(
            "span",
            { class: "branch-tools" },
            h("button", { type: "button", class: "link", "aria-label": `Rename branch ${branch.name}`, onclick: () => rename(branch) }, "Rename"),
            branch.is_root
              ? null
              : h("button", { type: "button", class: "link danger", "aria-label": `Delete branch ${branch.name}`, onclick: () => remove(branch) }, "Delete"),
          ),
    ),
    children.length ? h("ul", {}, children) : null,
  );
}

function render() {
  const byParent = new Map();
  for (const branch of state.branches) {
    const siblings = byParent.get(branch.parent_branch_id) ?? [];
    siblings.push(branch);
    byParent.set(branch.parent_branch_id, siblings);
  }
  const build = (branch) => node(branch, (byParent.get(branch.branch_id) ?? []).map(build));
  const root = state.branches.find((branch) => branch.is_root);
  $("tree").replaceChildren(...(root ? [build(root)] : []));
  $("tree-empty").hidden = Boolean(root) || state.unavailable !== null;
}

export function mount() {
  subscribe("branches", render);
  subscribe("chat", render);
}
