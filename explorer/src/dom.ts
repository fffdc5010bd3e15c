// A small element builder: h("a", { href: "/x", onclick: f }, "text", child, [more]).
export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.replace(/^on/, ""), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** A labelled form control: the label wraps its text and the control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint ? h("small", {}, hint) : null);
}

export function select(
  name: string,
  options: [value: string, text: string][],
  current: string,
  attrs: Record<string, AttrValue> = {},
): HTMLSelectElement {
  return h(
    "select",
    { name, ...attrs },
    options.map(([value, text]) => h("option", { value, selected: value === current }, text)),
  );
}

/** A table with a caption, column headings and rows; numbers are right-aligned. */
export function table(caption: string, headings: string[], rows: Child[][], numeric: boolean[] = []): HTMLElement {
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headings.map((t, i) => h("th", { scope: "col", class: numeric[i] ? "num" : null }, t)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", { class: numeric[i] ? "num" : null }, c)))))),
    ),
  );
}

/**
 * A select whose choices arrive later: it shows `first` options and the current value at once,
 * and the rest when `later` resolves (keeping the selection), so a view need not wait for it.
 */
export function selectLater(
  name: string,
  first: [value: string, text: string][],
  current: string,
  later: Promise<[value: string, text: string][]>,
): HTMLSelectElement {
  const known = (value: string) => first.some(([v]) => v === value);
  const el = select(name, known(current) ? first : [...first, [current, current]], current);
  void later.then((options) => {
    const all = [...first, ...options.filter(([v]) => !known(v))];
    if (!all.some(([v]) => v === el.value)) all.push([el.value, el.value]);
    const chosen = el.value;
    el.replaceChildren(...all.map(([value, text]) => h("option", { value, selected: value === chosen }, text)));
  });
  return el;
}
