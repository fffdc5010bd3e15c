// Compile-time checks of the generated types: every line marked @ts-expect-error must fail to
// type-check (tsc fails the build when one does not), so a spec that stops saying these things
// breaks the build.
import type { components, paths } from "./schema.js";

type ListQuery = NonNullable<paths["/v1/institutes"]["get"]["parameters"]["query"]>;
type StatsQuery = paths["/v1/stats"]["get"]["parameters"]["query"];
type Institute = components["schemas"]["Institute"];

// @ts-expect-error format is one of json, csv, ndjson
export const unknownFormat: ListQuery = { format: "xml" };
// @ts-expect-error group_by is one of country, region, sector, kind, founded_decade
export const unknownGrouping: StatsQuery = { group_by: "city" };
// @ts-expect-error a field always sent is never undefined (null when it has no value)
export const acronymUndefined: Institute["acronym"] = undefined;
// @ts-expect-error children_total is always sent
export const noTotal: Pick<Institute, "children_total"> = {};

// What is right compiles.
export const fine: ListQuery = { format: "csv", limit: 5, bom: true };
export const grouping: StatsQuery = { group_by: "founded_decade" };
export const noAcronym: Institute["acronym"] = null;
