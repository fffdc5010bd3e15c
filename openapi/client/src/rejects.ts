// Compile-time checks of the generated types: every line marked @ts-expect-error must fail to
// type-check (tsc fails the build when one does not), so a spec that stops saying these things
// breaks the build.
import type { components, paths } from "./registry.js";

type ListQuery = NonNullable<paths["/v1/institutes"]["get"]["parameters"]["query"]>;
type ExportQuery = NonNullable<paths["/v1/exports/institutes"]["get"]["parameters"]["query"]>;
type StatsQuery = paths["/v1/stats"]["get"]["parameters"]["query"];
type Institute = components["schemas"]["Institute"];

// @ts-expect-error an export's format is csv or ndjson
export const unknownFormat: ExportQuery = { format: "xml" };
// @ts-expect-error the list answers JSON pages only: exports are their own operation
export const listAsCsv: ListQuery = { format: "csv" };
// @ts-expect-error a page holds 1 to 100
export const pageTooLarge: ListQuery = { limit: 500 };
// @ts-expect-error a page holds 1 to 100
export const emptyPage: ListQuery = { limit: 0 };
// @ts-expect-error sort keys are checked by the server, but a sort is a string
export const sortNumber: ListQuery = { sort: 5 };
// @ts-expect-error group_by is one of country, region, sector, kind, founded_decade
export const unknownGrouping: StatsQuery = { group_by: "city" };
// @ts-expect-error a field always sent is never undefined (null when it has no value)
export const acronymUndefined: Institute["acronym"] = undefined;
// @ts-expect-error children_total is always sent
export const noTotal: Pick<Institute, "children_total"> = {};

// What is right compiles.
export const fine: ListQuery = { limit: 100, sort: "-budget,name" };
export const fineExport: ExportQuery = { format: "csv", bom: true };
export const grouping: StatsQuery = { group_by: "founded_decade" };
export const noAcronym: Institute["acronym"] = null;
