// The public API through the client generated from openapi/openapi.json (src/registry.d.ts):
// a renamed or removed field breaks the build.
import createClient from "openapi-fetch";
import type { components, paths } from "./registry";

export type Schemas = components["schemas"];
export type Institute = Schemas["Institute"];
export type ListQuery = NonNullable<paths["/v1/institutes"]["get"]["parameters"]["query"]>;
export type StatsQuery = NonNullable<paths["/v1/stats"]["get"]["parameters"]["query"]>;
export type GroupBy = NonNullable<StatsQuery["group_by"]>;
export type Limit = NonNullable<ListQuery["limit"]>;

export const client = createClient<paths>({ baseUrl: location.origin });

/** A request the API refused or failed: its status, its problem document when it sent one. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly problem: Schemas["Problem"] | undefined,
    readonly request: string,
  ) {
    super(problem ? `${problem.title}: ${problem.detail}` : `HTTP ${status}`);
  }
}

type Outcome<T> = { data?: T; error?: unknown; response: Response };

/** The requests a view made, in order, as paths with their queries: shown under the view. */
export class Requests {
  readonly list: string[] = [];
  add(response: Response): string {
    const url = new URL(response.url);
    const path = url.pathname + url.search;
    if (!this.list.includes(path)) this.list.push(path);
    return path;
  }
}

/** The data of a successful answer; an ApiFailure otherwise. */
export async function load<T>(pending: Promise<Outcome<T>>, requests: Requests): Promise<T> {
  const { data, error, response } = await pending;
  const path = requests.add(response);
  if (!response.ok || data === undefined) {
    const problem = isProblem(error) ? error : undefined;
    throw new ApiFailure(response.status, problem, path);
  }
  return data;
}

function isProblem(value: unknown): value is Schemas["Problem"] {
  return typeof value === "object" && value !== null && "status" in value && "title" in value;
}

// Reference data, fetched once per page and shared by the views.
let sectors: Promise<Schemas["Sector"][]> | undefined;
let countries: Promise<Schemas["CountrySummary"][]> | undefined;
let currencies: Promise<string[]> | undefined;

export function allSectors(requests: Requests): Promise<Schemas["Sector"][]> {
  sectors ??= load(client.GET("/v1/sectors"), requests).then((list) => list.items);
  return sectors;
}

/** Countries that have institutes, every page. */
export function allCountries(requests: Requests): Promise<Schemas["CountrySummary"][]> {
  countries ??= (async () => {
    const items: Schemas["CountrySummary"][] = [];
    let cursor: string | undefined;
    do {
      const page = await load(client.GET("/v1/countries", { params: { query: { limit: 100, cursor } } }), requests);
      items.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return items.sort((a, b) => a.name.localeCompare(b.name));
  })();
  return countries;
}

/** Currencies money can be shown in: USD, those with published rates, and PPP. */
export function allCurrencies(requests: Requests): Promise<string[]> {
  currencies ??= (async () => {
    const codes = new Set<string>(["USD"]);
    let cursor: string | undefined;
    do {
      const page = await load(client.GET("/v1/exchange-rates", { params: { query: { limit: 100, cursor } } }), requests);
      for (const rate of page.items) codes.add(rate.currency);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return ["USD", "PPP", ...[...codes].filter((c) => c !== "USD").sort()];
  })();
  return currencies;
}
