// Countries or regions side by side: institutes, headcount and comparable budget, in a chosen
// currency or in purchasing power, per inhabitant and as a share of GDP.
import { allSectors, client, type GroupBy, load, type Schemas } from "../api";
import { barChart } from "../charts";
import { field, h, select, table } from "../dom";
import { count, currencyName, decimal, money, percent } from "../format";
import type { Ctx, Rendered } from "../main";
import { moneySelect } from "../widgets";

type Group = Schemas["Group"];
const MEASURES: [string, string][] = [
  ["budget", "Comparable budget, total"],
  ["per_inhabitant", "Budget per inhabitant"],
  ["share_of_gdp", "Budget as a share of GDP"],
  ["headcount", "Researchers or staff, total"],
  ["institutes", "Number of institutes"],
];
const SHOWN = 25;

export async function countriesView(ctx: Ctx): Promise<Rendered> {
  const p = ctx.url.searchParams;
  const groupBy: GroupBy = p.get("group_by") === "region" ? "region" : "country";
  const currency = p.get("currency")?.trim() || "USD";
  const measure = MEASURES.some(([m]) => m === p.get("measure")) ? (p.get("measure") as string) : "budget";
  const sector = p.get("sector")?.trim() || undefined;
  const [report, sectors] = await Promise.all([
    load(client.GET("/v1/stats", { params: { query: { group_by: groupBy, currency, sector } } }), ctx.requests),
    allSectors(ctx.requests),
  ]);
  const cur = report.currency;
  const value = (g: Group): number | null => {
    switch (measure) {
      case "per_inhabitant":
        return g.indicators?.budget_per_inhabitant ?? null;
      case "share_of_gdp":
        return g.indicators?.budget_share_of_gdp_percent ?? null;
      case "headcount":
        return g.headcount.known ? g.headcount.total : null;
      case "institutes":
        return g.count;
      default:
        return g.budget.known ? g.budget.total : null;
    }
  };
  const format = (v: number): string => {
    switch (measure) {
      case "per_inhabitant":
        return money(v, cur, false).replace(/\d+$/, () => decimal(v, 2));
      case "share_of_gdp":
        return percent(v);
      case "headcount":
      case "institutes":
        return count(v);
      default:
        return money(v, cur, true);
    }
  };
  const groups = report.groups.filter((g) => g.key !== null);
  const ranked = groups.filter((g) => value(g) !== null).sort((a, b) => (value(b) ?? 0) - (value(a) ?? 0));
  const top = ranked.slice(0, SHOWN);
  const name = (g: Group) => g.label ?? g.key ?? "—";
  const measureName = MEASURES.find(([m]) => m === measure)?.[1] ?? measure;

  const form = h(
    "form",
    { class: "filters compact", "aria-label": "What to compare" },
    field("Compare", select("group_by", [["country", "Countries"], ["region", "Regions"]], groupBy)),
    field("Measure", select("measure", MEASURES, measure)),
    field("Money in", moneySelect(ctx.requests, currency)),
    field("Sector", select("sector", [["", "All sectors"], ...sectors.map((s): [string, string] => [s.slug, s.name])], sector ?? "")),
    h("noscript", {}, h("button", { type: "submit" }, "Compare")),
  );
  form.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v)) next.set(k, String(v));
    ctx.go(`/explore/countries?${next.toString()}`);
  });

  const filterLink = (g: Group) =>
    h("a", { href: groupBy === "country" ? `/?country=${g.key}` : `/?region=${encodeURIComponent(g.key ?? "")}` }, name(g));
  const rows = [...groups]
    .sort((a, b) => (value(b) ?? -1) - (value(a) ?? -1) || name(a).localeCompare(name(b)))
    .map((g) => [
      filterLink(g),
      count(g.count),
      g.headcount.known ? `${count(g.headcount.total)} (${g.headcount.known})` : "—",
      g.budget.known ? `${money(g.budget.total, cur, true)} (${g.budget.known})` : "—",
      g.indicators?.budget_per_inhabitant != null ? `${cur === "PPP" ? "Int$" : cur} ${decimal(g.indicators.budget_per_inhabitant, 3)}` : "—",
      percent(g.indicators?.budget_share_of_gdp_percent),
      g.indicators?.population != null ? `${count(g.indicators.population)} (${g.indicators.year ?? "—"})` : "—",
    ]);
  return {
    title: groupBy === "country" ? "Countries compared" : "Regions compared",
    body: h(
      "div",
      { class: "compare" },
      h("h1", { tabindex: -1 }, groupBy === "country" ? "Countries compared" : "Regions compared"),
      h(
        "p",
        { class: "lead" },
        `Institutes of the registry${sector ? ` in ${sector}` : ""}, grouped by ${groupBy}. Budgets are each institute's latest comparable (annual or annualised) figure, `,
        cur === "PPP"
          ? "in international dollars at each country's purchasing-power factor of the figure's year."
          : `in ${cur}${report.rate && cur !== "USD" ? ` (from USD at ${report.rate.units_per_usd.toPrecision(6)} per USD, the ${report.rate.year} average)` : ""}.`,
        " Per inhabitant and share of GDP use the World Bank's latest population and GDP.",
      ),
      form,
      top.length
        ? barChart(`${measureName}${ranked.length > SHOWN ? `, top ${SHOWN}` : ""}`, top.map((g) => (groupBy === "country" ? (g.key ?? "") : name(g))), top.map(value), format)
        : h("p", {}, "No group has this figure."),
      table(`${groupBy === "country" ? "Countries" : "Regions"}: institutes, headcount and budget (figures known for)`, [
        groupBy === "country" ? "Country" : "Region",
        "Institutes",
        "Researchers or staff",
        `Budget (${currencyName(cur)})`,
        "Per inhabitant",
        "Share of GDP",
        "Population",
      ], rows, [false, true, true, true, true, true, true]),
    ),
  };
}
