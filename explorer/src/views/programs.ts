// The national AI programmes side by side: amount, a year of it per inhabitant and as a share
// of GDP where the period is stated.
import { client, load, type Schemas } from "../api";
import { barChart } from "../charts";
import { field, h, select, table } from "../dom";
import { currencyName, decimal, isUrl, money, percent } from "../format";
import type { Ctx, Rendered } from "../main";
import { moneySelect } from "../widgets";

type Program = Schemas["Program"];
const MEASURES: [string, string][] = [
  ["amount", "Amount announced"],
  ["per_inhabitant", "A year of it per inhabitant (USD)"],
  ["share_of_gdp", "A year of it as a share of GDP"],
];

export async function programsView(ctx: Ctx): Promise<Rendered> {
  const p = ctx.url.searchParams;
  const currency = p.get("currency")?.trim() || "USD";
  const measure = MEASURES.some(([m]) => m === p.get("measure")) ? (p.get("measure") as string) : "amount";
  const programs: Program[] = [];
  let cursor: string | undefined;
  do {
    const page = await load(client.GET("/v1/programs", { params: { query: { currency, limit: 100, cursor } } }), ctx.requests);
    programs.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);

  const value = (g: Program): number | null =>
    measure === "per_inhabitant"
      ? (g.annualized?.usd_per_inhabitant ?? null)
      : measure === "share_of_gdp"
        ? (g.annualized?.share_of_gdp_percent ?? null)
        : (g.converted?.amount ?? null);
  const format = (v: number) => (measure === "per_inhabitant" ? `USD ${decimal(v, 2)}` : measure === "share_of_gdp" ? percent(v) : money(v, currency, true));
  const ranked = programs.filter((g) => value(g) !== null).sort((a, b) => (value(b) ?? 0) - (value(a) ?? 0));
  const form = h(
    "form",
    { class: "filters compact", "aria-label": "How to compare" },
    field("Measure", select("measure", MEASURES, measure)),
    field("Money in", moneySelect(ctx.requests, currency)),
    h("noscript", {}, h("button", { type: "submit" }, "Compare")),
  );
  form.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v)) next.set(k, String(v));
    ctx.go(`/explore/programs?${next.toString()}`);
  });
  const rows = [...programs]
    .sort((a, b) => (value(b) ?? -1) - (value(a) ?? -1) || a.name.localeCompare(b.name))
    .map((g) => [
      g.name,
      h("a", { href: `/?country=${g.jurisdiction}` }, g.jurisdiction),
      String(g.announced),
      g.period ?? "—",
      money(g.amount, g.currency, true),
      g.converted?.amount != null ? money(g.converted.amount, currency, true) : h("small", {}, g.converted?.note ?? "—"),
      g.annualized ? `${g.annualized.years} y` : "—",
      g.annualized?.usd_per_inhabitant != null ? `USD ${decimal(g.annualized.usd_per_inhabitant, 2)}` : "—",
      percent(g.annualized?.share_of_gdp_percent),
      isUrl(g.source) ? h("a", { href: g.source, rel: "noopener" }, new URL(g.source).hostname) : g.source,
    ]);
  return {
    title: "National programmes",
    body: h(
      "div",
      { class: "compare" },
      h("h1", { tabindex: -1 }, "National AI programmes"),
      h(
        "p",
        { class: "lead" },
        "What governments have announced, as the sources say it. A year of a programme is its amount over the years of its stated period; per inhabitant and share of GDP use the jurisdiction's population and GDP of the year announced.",
      ),
      form,
      ranked.length
        ? barChart(MEASURES.find(([m]) => m === measure)?.[1] ?? measure, shortLabels(ranked), ranked.map(value), format)
        : h("p", {}, "No programme has this figure."),
      table(
        `National programmes, in ${currencyName(currency)}`,
        ["Programme", "Jurisdiction", "Announced", "Period", "Amount", `In ${currency}`, "Years", "A year per inhabitant", "A year, share of GDP", "Source"],
        rows,
        [false, false, true, false, true, true, true, true, true, false],
      ),
    ),
  };
}

/** Bar labels: jurisdiction and year announced, with a letter where two would be alike. */
function shortLabels(programs: Program[]): string[] {
  const seen = new Map<string, number>();
  return programs.map((g) => {
    const label = `${g.jurisdiction} ${g.announced}`;
    const n = seen.get(label) ?? 0;
    seen.set(label, n + 1);
    return n ? `${label} ${String.fromCharCode(97 + n)}` : label;
  });
}
