// Building the page from API data. Every value from the API becomes a text node or an
// attribute value, never markup: a garment field that holds "<script>" shows as text.

/** An element: h("li", {class: "card", dataset: {id}}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** "smart_casual" -> "Smart casual". */
export function human(word) {
  if (word === undefined || word === null || word === "") return "—";
  const text = String(word).replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function percent(x) {
  return x === undefined || x === null ? "—" : `${Math.round(Number(x) * 100)}%`;
}

/** <option>s for a select, the first one optional (value ""). */
export function options(select, values, { empty, selected, label = human } = {}) {
  const items = values.map((v) => h("option", { value: v, selected: v === selected }, label(v)));
  fill(select, empty === undefined ? [] : h("option", { value: "" }, empty), items);
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
