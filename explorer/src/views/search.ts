// Search and filter the institutes: the list's own parameters, in the page's URL.
import { allCountries, allSectors, ApiFailure, client, type Institute, type ListQuery, load } from "../api";
import { field, h, select, table } from "../dom";
import { count, currencyName, money } from "../format";
import type { Ctx, Rendered } from "../main";
import { moneySelect } from "../widgets";

/** The list parameters the form sets, as they appear in both URLs. */
const PARAMS = ["q", "parent", "country", "region", "sector", "kind", "founded_from", "founded_to", "budget_min", "budget_max", "currency", "sort"] as const;
const KINDS: [string, string][] = [
  ["", "Any kind"],
  ["government", "Government"],
  ["public_research", "Public research"],
  ["university", "University"],
  ["non_profit", "Non-profit"],
  ["consortium", "Consortium"],
  ["company", "Company"],
];
const SORTS: [string, string][] = [
  ["", "Best match, then name"],
  ["name", "Name"],
  ["-budget", "Budget, largest first"],
  ["budget", "Budget, smallest first"],
  ["-headcount", "Headcount, largest first"],
  ["-founded", "Founded, newest first"],
  ["founded", "Founded, oldest first"],
  ["country,name", "Country, then name"],
  ["-updated", "Recently updated"],
];

function int(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/** The list query of a page URL: what the explorer asks the API. */
export function listQuery(params: URLSearchParams): ListQuery {
  const text = (name: string) => params.get(name)?.trim() || undefined;
  return {
    q: text("q"),
    country: text("country"),
    parent: text("parent"),
    region: text("region"),
    sector: text("sector"),
    kind: text("kind"),
    founded_from: int(params.get("founded_from")),
    founded_to: int(params.get("founded_to")),
    budget_min: int(params.get("budget_min")),
    budget_max: int(params.get("budget_max")),
    currency: text("currency"),
    sort: text("sort"),
    cursor: text("cursor"),
    limit: 20,
  };
}

export async function searchView(ctx: Ctx): Promise<Rendered> {
  const params = ctx.url.searchParams;
  const query = listQuery(params);
  // The list and the filters' choices are asked for at once.
  const listing = load(client.GET("/v1/institutes", { params: { query } }), ctx.requests).then(
    (page) => ({ page, err: undefined }),
    (err: unknown) => ({ page: undefined, err }),
  );
  const [sectors, countries, outcome] = await Promise.all([
    allSectors(ctx.requests),
    allCountries(ctx.requests),
    listing,
  ]);
  let results: HTMLElement;
  if (outcome.page) {
    const page = outcome.page;
    results = resultList(ctx, page.items, page.total, page.next_cursor, query.currency);
  } else {
    const err = outcome.err;
    if (!(err instanceof ApiFailure)) throw err;
    results = h(
      "div",
      { class: "problem", role: "alert" },
      h("h2", {}, err.problem?.title ?? `The API answered ${err.status}`),
      h("p", {}, err.problem?.detail ?? ""),
      h("ul", {}, (err.problem?.errors ?? []).map((e) => h("li", {}, h("code", {}, e.field), ": ", e.message))),
    );
  }

  const regions = [...new Set(countries.flatMap((c) => [c.region, c.subregion]))].filter(Boolean).sort();
  const value = (name: string) => params.get(name) ?? "";
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Search and filter institutes" },
    suggestBox(ctx, value("q")),
    params.has("parent") ? h("input", { type: "hidden", name: "parent", value: value("parent") }) : null,
    h(
      "fieldset",
      {},
      h("legend", {}, "Filters"),
      field("Country", select("country", [["", "Any country"], ...countries.map((c): [string, string] => [c.code, `${c.name} (${c.institutes})`])], value("country"))),
      field("Region", select("region", [["", "Any region"], ...regions.map((r): [string, string] => [r, r])], value("region"))),
      field("Sector", select("sector", [["", "Any sector"], ...sectors.map((s): [string, string] => [s.slug, `${s.name} (${s.institutes})`])], value("sector"))),
      field("Kind", select("kind", KINDS, value("kind"))),
      field("Founded from", h("input", { name: "founded_from", type: "number", inputmode: "numeric", min: 1000, max: 2100, value: value("founded_from") })),
      field("Founded to", h("input", { name: "founded_to", type: "number", inputmode: "numeric", min: 1000, max: 2100, value: value("founded_to") })),
      field("Budget at least", h("input", { name: "budget_min", type: "number", inputmode: "numeric", min: 0, value: value("budget_min") }), "a year, in the currency below"),
      field("Budget at most", h("input", { name: "budget_max", type: "number", inputmode: "numeric", min: 0, value: value("budget_max") })),
      field("Currency", moneySelect(ctx.requests, value("currency"), [["", "As reported (bounds in USD)"]])),
      field("Order", select("sort", SORTS, value("sort"))),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search"), h("a", { href: "/", class: "reset" }, "Clear all")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of PARAMS) {
      const v = String(data.get(name) ?? "").trim();
      if (v) next.set(name, v);
    }
    const qs = next.toString();
    ctx.go(qs ? `/?${qs}` : "/");
  });
  form.addEventListener("change", (event) => {
    if ((event.target as Element).tagName === "SELECT") form.requestSubmit();
  });

  return {
    title: query.q ? `“${query.q}”` : "Institutes",
    body: h("div", { class: "search" }, h("h1", { tabindex: -1 }, "National AI and research institutes"), form, results),
  };
}

function resultList(ctx: Ctx, items: Institute[], total: number, next: string | null, currency: string | undefined): HTMLElement {
  const here = new URLSearchParams(ctx.url.searchParams);
  const withCursor = (cursor: string | null) => {
    const p = new URLSearchParams(here);
    if (cursor) p.set("cursor", cursor);
    else p.delete("cursor");
    const qs = p.toString();
    return qs ? `/?${qs}` : "/";
  };
  const suffix = currency ? `?currency=${encodeURIComponent(currency)}` : "";
  const rows = items.map((i) => {
    const b = i.latest_budget;
    const shown = b && currency ? (b.converted?.amount != null ? money(b.converted.amount, currency, true) : "—") : b ? money(b.amount, b.currency, true) : "—";
    const hc = i.latest_headcount;
    return [
      h("a", { href: `/explore/institutes/${i.slug}${suffix}` }, i.name, i.acronym ? ` (${i.acronym})` : ""),
      i.country,
      i.kind.replace("_", " "),
      i.founded ?? "—",
      b ? `${shown} (${b.year}${b.basis === "as_reported" ? ", not comparable" : ""})` : "—",
      hc ? `${count(hc.researchers ?? hc.staff)} (${hc.year})` : "—",
    ];
  });
  return h(
    "section",
    { class: "results", "aria-labelledby": "results-heading" },
    h("h2", { id: "results-heading", "aria-live": "polite" }, `${count(total)} institute${total === 1 ? "" : "s"}`),
    items.length
      ? table(
          currency ? `Institutes, latest budget in ${currencyName(currency)}` : "Institutes, latest budget as reported",
          ["Institute", "Country", "Kind", "Founded", "Latest budget", "Researchers or staff"],
          rows,
          [false, false, false, true, true, true],
        )
      : h("p", {}, "No institute matches. Loosen a filter."),
    h(
      "nav",
      { class: "pager", "aria-label": "Pages" },
      here.has("cursor") ? h("a", { href: withCursor(null) }, "« First page") : null,
      next ? h("a", { href: withCursor(next), rel: "next" }, "Next page »") : null,
    ),
  );
}

/** The search box: a combobox whose options are the API's completions, each an institute. */
function suggestBox(ctx: Ctx, initial: string): HTMLElement {
  const listId = "suggestions";
  const input = h("input", {
    name: "q",
    type: "search",
    value: initial,
    autocomplete: "off",
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    placeholder: "Name, acronym or words, e.g. turing",
  });
  const list = h("ul", { id: listId, role: "listbox", class: "suggestions", hidden: true, "aria-label": "Completions" });
  let active = -1;
  let timer: number | undefined;
  let asked = 0;
  const options = () => [...list.querySelectorAll<HTMLElement>("[role=option]")];
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index: number) => {
    const all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    all.forEach((o, i) => o.setAttribute("aria-selected", String(i === active)));
    input.setAttribute("aria-activedescendant", all[active]?.id ?? "");
  };
  const open = (slug: string) => ctx.go(`/explore/institutes/${slug}`);
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2) return close();
    timer = window.setTimeout(async () => {
      const mine = ++asked;
      const { data } = await client.GET("/v1/institutes/suggest", { params: { query: { q: text, limit: 8 } } });
      if (mine !== asked || !data) return;
      list.replaceChildren(
        ...data.items.map((s, i) =>
          h(
            "li",
            { id: `suggestion-${i}`, role: "option", "aria-selected": "false", "data-slug": s.slug, onmousedown: (e: Event) => (e.preventDefault(), open(s.slug)) },
            s.name,
            s.acronym ? ` (${s.acronym})` : "",
            h("span", { class: "muted" }, ` · ${s.country}`),
          ),
        ),
      );
      list.hidden = data.items.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      active = -1;
    }, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      const slug = options()[active]?.dataset.slug;
      if (slug) open(slug);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => window.setTimeout(close, 100));
  return h("div", { class: "searchbox" }, field("Search", input), list);
}
