// The registry explorer: a page served at / and /explore/… that reads the public API only.
// Every view's state is in its URL; under each view, the API requests behind it.
import { ApiFailure, Requests } from "./api";
import { h } from "./dom";
import { countriesView } from "./views/countries";
import { instituteView } from "./views/institute";
import { programsView } from "./views/programs";
import { searchView } from "./views/search";

export interface Ctx {
  url: URL;
  requests: Requests;
  /** Shows another view (a path with its query), as a new history entry unless `replace`. */
  go(to: string, replace?: boolean): void;
}

export interface Rendered {
  title: string;
  body: Node;
}

type View = (ctx: Ctx, match: RegExpMatchArray) => Promise<Rendered>;

const ROUTES: [RegExp, View, string][] = [
  [/^\/(?:explore\/?)?$/, searchView, "/"],
  [/^\/explore\/institutes\/([^/]+)$/, instituteView, ""],
  [/^\/explore\/countries$/, countriesView, "/explore/countries"],
  [/^\/explore\/programs$/, programsView, "/explore/programs"],
];

const main = document.getElementById("main") as HTMLElement;
const apiList = document.getElementById("api-requests") as HTMLElement;
let generation = 0;

async function render(focus: boolean): Promise<void> {
  const mine = ++generation;
  // A view shown because a control of the last one changed keeps the focus on that control.
  const before = document.activeElement;
  const control = before instanceof HTMLSelectElement || before instanceof HTMLInputElement ? before.name : "";
  const url = new URL(location.href);
  const requests = new Requests();
  const ctx: Ctx = { url, requests, go };
  const route = ROUTES.find(([pattern]) => pattern.test(url.pathname));
  markNav(url.pathname);
  main.setAttribute("aria-busy", "true");
  let rendered: Rendered;
  try {
    if (!route) throw new Error(`Nothing is shown at ${url.pathname}.`);
    rendered = await route[1](ctx, url.pathname.match(route[0]) as RegExpMatchArray);
  } catch (err) {
    rendered = { title: "Not shown", body: failure(err) };
  }
  if (mine !== generation) return; // a later navigation won
  document.title = `${rendered.title} · Institute Registry`;
  main.replaceChildren(rendered.body);
  main.setAttribute("aria-busy", "false");
  apiList.replaceChildren(
    ...requests.list.map((path) => h("li", {}, h("a", { href: path, class: "api-link" }, `GET ${path}`))),
  );
  // A User Timing mark per view shown: how long a view takes, for anyone measuring it.
  performance.mark("explorer:view", { detail: url.pathname });
  if (focus) {
    const same = control ? main.querySelector<HTMLElement>(`[name="${control}"]`) : null;
    (same ?? main.querySelector<HTMLElement>("h1"))?.focus();
  }
}

function failure(err: unknown): HTMLElement {
  if (err instanceof ApiFailure) {
    return h(
      "div",
      { class: "problem", role: "alert" },
      h("h1", { tabindex: -1 }, err.problem?.title ?? `The API answered ${err.status}`),
      h("p", {}, err.problem?.detail ?? ""),
      err.problem?.errors?.length
        ? h("ul", {}, err.problem.errors.map((e) => h("li", {}, h("code", {}, e.field), ": ", e.message)))
        : null,
      h("p", {}, "Request: ", h("a", { href: err.request }, `GET ${err.request}`)),
    );
  }
  return h("div", { class: "problem", role: "alert" }, h("h1", { tabindex: -1 }, "Not shown"), h("p", {}, String(err instanceof Error ? err.message : err)));
}

function markNav(path: string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-view]")) {
    const current = ROUTES.some(([pattern, , home]) => home === link.getAttribute("href") && pattern.test(path));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function go(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  void render(!replace);
}

// Links inside the page to a view are followed without reloading it; API links load as usual.
document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest?.("a");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || !ROUTES.some(([pattern]) => pattern.test(url.pathname))) return;
  event.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener("popstate", () => void render(true));
void render(false);
