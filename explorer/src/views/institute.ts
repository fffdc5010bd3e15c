// One institute: its record, its relations, and its budget and headcount series as charts
// with the same figures (and their sources) in tables.
import { client, load, type Schemas } from "../api";
import { yearChart, type Series } from "../charts";
import { field, h, table, type Child } from "../dom";
import { count, currencyName, isUrl, money } from "../format";
import type { Ctx, Rendered } from "../main";
import { moneySelect } from "../widgets";

type Entry = Schemas["BudgetEntry"];

export async function instituteView(ctx: Ctx, match: RegExpMatchArray): Promise<Rendered> {
  const ref = decodeURIComponent(match[1] ?? "");
  const currency = ctx.url.searchParams.get("currency")?.trim() || "USD";
  const path = { ref };
  const [institute, budgets, headcounts] = await Promise.all([
    load(client.GET("/v1/institutes/{ref}", { params: { path, query: { currency } } }), ctx.requests),
    load(client.GET("/v1/institutes/{ref}/budgets", { params: { path, query: { currency } } }), ctx.requests),
    load(client.GET("/v1/institutes/{ref}/headcounts", { params: { path } }), ctx.requests),
  ]);
  const i = institute;
  const suffix = `?currency=${encodeURIComponent(currency)}`;
  const link = (r: Schemas["InstituteRef"]) => h("a", { href: `/explore/institutes/${r.slug}${suffix}` }, r.name);
  const facts: [string, Child][] = [
    ["Kind", i.kind.replace("_", " ")],
    ["Status", i.status],
    ["Country", h("a", { href: `/?country=${i.country}` }, i.country)],
    ["City", i.city ?? "—"],
    ["Founded", i.founded ?? "—"],
    ["Website", i.website ? h("a", { href: i.website, rel: "noopener" }, i.website) : "—"],
    ["Sectors", i.sectors.length ? i.sectors.map((s, n) => [n ? ", " : "", h("a", { href: `/?sector=${s}` }, s)]) : "—"],
    ["Part of", i.parent ? link(i.parent) : "—"],
    [
      "Units",
      i.children_total
        ? [
            i.children.map((c, n) => [n ? ", " : "", link(c)]),
            i.children_total > i.children.length ? [" … ", h("a", { href: `/?parent=${i.slug}` }, `all ${i.children_total}`)] : "",
          ]
        : "—",
    ],
    ["Also known as", i.aliases.length ? i.aliases.join("; ") : "—"],
    ["Identifiers", externalIds(i.external_ids)],
  ];

  const currencyForm = h(
    "form",
    { class: "inline", "aria-label": "Currency of converted figures" },
    field("Show money in", moneySelect(ctx.requests, currency)),
    h("noscript", {}, h("button", { type: "submit" }, "Show")),
  );
  currencyForm.addEventListener("change", () => {
    const chosen = new FormData(currencyForm).get("currency");
    ctx.go(`/explore/institutes/${i.slug}?currency=${encodeURIComponent(String(chosen))}`, false);
  });

  return {
    title: i.name,
    body: h(
      "article",
      { class: "institute" },
      h("p", { class: "crumbs" }, h("a", { href: "/" }, "Institutes"), " › ", i.country),
      h("h1", { tabindex: -1 }, i.name, i.acronym ? ` (${i.acronym})` : ""),
      i.description ? h("p", { class: "lead" }, i.description) : null,
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("section", { "aria-labelledby": "budget-heading" }, h("h2", { id: "budget-heading" }, "Budget"), currencyForm, budgetPart(budgets.items, currency)),
      h("section", { "aria-labelledby": "headcount-heading" }, h("h2", { id: "headcount-heading" }, "Headcount"), headcountPart(headcounts.items)),
    ),
  };
}

function externalIds(ids: Schemas["ExternalIds"]): Child {
  const parts = Object.entries(ids).filter(([, v]) => typeof v === "string" && v !== "");
  return parts.length ? parts.map(([k, v], n) => [n ? ", " : "", `${k.toUpperCase()} ${String(v)}`]) : "—";
}

function source(text: string): Child {
  return isUrl(text) ? h("a", { href: text, rel: "noopener" }, new URL(text).hostname) : text;
}

/** Amounts by year, one series per kind of figure (annual, multi-year, …). */
function byKind(entries: Entry[], value: (e: Entry) => number | null): { years: number[]; series: Series[] } {
  const years = [...new Set(entries.map((e) => e.year))].sort((a, b) => a - b);
  const kinds = [...new Set(entries.map((e) => e.kind))];
  const series = kinds.map((kind) => ({
    label: kind.replace("_", " "),
    values: years.map((y) => {
      const vs = entries.filter((e) => e.kind === kind && e.year === y).map(value).filter((v): v is number => v !== null);
      return vs.length ? vs.reduce((a, b) => a + b, 0) : null;
    }),
  }));
  return { years, series };
}

function budgetPart(entries: Entry[], currency: string): Child {
  if (!entries.length) return h("p", {}, "No budget figure is recorded.");
  const own = mostCommon(entries.map((e) => e.currency));
  const inOwn = entries.filter((e) => e.currency === own);
  const converted = entries.filter((e) => e.converted?.amount != null);
  const asReported = byKind(inOwn, (e) => e.amount);
  const inChosen = byKind(converted, (e) => e.converted?.amount ?? null);
  const rows = entries.map((e) => [
    e.period_end ? `${e.year}–${e.period_end}` : String(e.year),
    e.kind.replace("_", " "),
    money(e.amount, e.currency),
    e.converted?.amount != null ? money(e.converted.amount, currency) : h("span", { title: e.converted?.note ?? "" }, "— ", h("small", {}, e.converted?.note ?? "")),
    e.converted?.ppp
      ? `${e.converted.ppp.lcu_per_intl_dollar} ${e.converted.ppp.local_currency} per Int$ (${e.converted.ppp.year})`
      : e.converted?.rate != null
        ? `${e.converted.rate.toPrecision(6)} (${e.converted.year})`
        : "—",
    source(e.source),
    e.note ?? "",
  ]);
  return [
    h(
      "div",
      { class: "charts" },
      yearChart(`As reported, in ${own}`, asReported.years, asReported.series, (v) => money(v, own, true)),
      converted.length
        ? yearChart(`In ${currencyName(currency)}`, inChosen.years, inChosen.series, (v) => money(v, currency, true))
        : h("p", {}, `No figure can be shown in ${currencyName(currency)}: no rate or purchasing-power factor for its year.`),
    ),
    table(`Budget figures, with ${currencyName(currency)} and their sources`, ["Year", "Kind", "As reported", `In ${currency}`, currency === "PPP" ? "PPP factor" : "Rate", "Source", "Note"], rows, [
      false,
      false,
      true,
      true,
      true,
      false,
      false,
    ]),
  ];
}

function headcountPart(entries: Schemas["HeadcountEntry"][]): Child {
  if (!entries.length) return h("p", {}, "No headcount is recorded.");
  const years = [...new Set(entries.map((e) => e.year))].sort((a, b) => a - b);
  const pick = (f: (e: Schemas["HeadcountEntry"]) => number | null) =>
    years.map((y) => {
      const vs = entries.filter((e) => e.year === y).map(f).filter((v): v is number => v !== null);
      return vs.length ? Math.max(...vs) : null;
    });
  const series: Series[] = [
    { label: "Researchers", values: pick((e) => e.researchers) },
    { label: "Staff", values: pick((e) => e.staff) },
  ].filter((s) => s.values.some((v) => v !== null));
  return [
    yearChart("Researchers and staff", years, series, (v) => count(v)),
    table("Headcount figures and their sources", ["Year", "Researchers", "Staff", "Basis", "Source"], entries.map((e) => [String(e.year), count(e.researchers), count(e.staff), e.basis, source(e.source)]), [
      false,
      true,
      true,
      false,
      false,
    ]),
  ];
}

function mostCommon(values: string[]): string {
  const tally = new Map<string, number>();
  for (const v of values) tally.set(v, (tally.get(v) ?? 0) + 1);
  return [...tally.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "USD";
}
