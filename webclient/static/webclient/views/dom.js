// Building elements from data. Text always goes in as text nodes, never as
// HTML, so nothing a message holds can become markup on this page.

export const $ = (id) => document.getElementById(id);

// h("button", {type: "button", class: "x", onclick: f, "aria-label": "…"}, "text", child…)
// Attributes that are false, null or undefined are left out; true is "".
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

// Call `load` whenever `sentinel` is on screen: once when it scrolls into
// view, and again after each redraw (`recheck`) while it stays there, so a
// short page keeps loading until it fills its box or runs out.
export function whenVisible(sentinel, load) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) load();
  });
  observer.observe(sentinel);
  return {
    recheck() {
      observer.unobserve(sentinel);
      observer.observe(sentinel);
    },
  };
}
