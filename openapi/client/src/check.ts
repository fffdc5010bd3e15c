// Uses the client generated from ../openapi.json against a running server, and checks what it
// gets. Compiled with `tsc --strict`: a field it uses that the spec renames or removes breaks
// the build. Environment: REGISTRY_URL (default http://127.0.0.1:8080), REGISTRY_KEY (an editor
// key, for the writes).
import createClient from "openapi-fetch";
import type { components, paths } from "./registry.js";

type Institute = components["schemas"]["Institute"];

const base = process.env.REGISTRY_URL ?? "http://127.0.0.1:8080";
const key = process.env.REGISTRY_KEY;
const client = createClient<paths>({ baseUrl: base });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
  console.log(`ok: ${what}`);
}

// 1. A filtered list, every page: follow next_cursor to the end.
const seen: Institute[] = [];
let cursor: string | undefined;
let total = -1;
let pages = 0;
do {
  const { data, error, response } = await client.GET("/v1/institutes", {
    params: { query: { country: "CA,GB", sort: "-founded,name", limit: 5, cursor } },
  });
  if (error) {
    throw new Error(`list failed: ${response.status} ${JSON.stringify(error)}`);
  }
  total = data.total;
  seen.push(...data.items);
  cursor = data.next_cursor ?? undefined;
  pages += 1;
} while (cursor !== undefined);
check(seen.length === total, `walked ${pages} pages, ${seen.length} institutes = total ${total}`);
check(new Set(seen.map((i) => i.id)).size === seen.length, "each institute once");
check(
  seen.every((i) => i.country === "CA" || i.country === "GB"),
  "every institute is Canadian or British",
);

// 1b. A problem, through the typed error: the parameter it names, and a suggestion.
const wrong = await client.GET("/v1/institutes", { params: { query: { country: "UK" } } });
check(wrong.data === undefined && wrong.response.status === 400, "country=UK is a 400");
const problem = wrong.error;
check(
  problem?.errors?.[0]?.field === "country" && problem.detail.length > 0 && problem.status === 400,
  `the problem names the field: ${problem?.errors?.[0]?.message}`,
);
check(problem.errors?.[0]?.message.includes("GB") === true, "and suggests GB");

// 1c. Every match as CSV, from the export operation.
const csv = await client.GET("/v1/exports/institutes", {
  params: { query: { country: "CA,GB", sort: "-founded,name" } },
  parseAs: "text",
});
const rows = (csv.data ?? "").trimEnd().split("\r\n");
check(rows[0]?.startsWith("id,slug,name,") === true, "the export starts with the CSV header");
check(rows.length === total + 1, `the export holds the ${total} institutes of the list`);

// 2. One institute by slug, with its money in EUR.
const mila = await client.GET("/v1/institutes/{ref}", {
  params: { path: { ref: "mila" }, query: { currency: "EUR" } },
});
check(mila.data?.slug === "mila" && mila.data.country === "CA", "read mila by slug");
const budget = mila.data.latest_budget;
check(budget === null || budget === undefined || budget.converted?.currency === "EUR", "budget in EUR");
const etagOfRead = mila.response.headers.get("etag");
check(etagOfRead !== null, "an ETag on a single record");

// 3. Search and matching.
const search = await client.GET("/v1/institutes", { params: { query: { q: "turing" } } });
check(search.data?.items[0]?.slug === "alan-turing-institute", "search q=turing");
const match = await client.GET("/v1/institutes/match", {
  params: { query: { affiliation: "Mila - Quebec AI Institute, Université de Montréal, Canada" } },
});
check(match.data?.chosen?.slug === "mila", "match an affiliation to mila");

// 4. With a key: create, then patch safely with If-Match; a stale ETag is refused.
if (key === undefined) {
  throw new Error("REGISTRY_KEY is not set: the write checks need an editor key");
}
const auth = { Authorization: `Bearer ${key}` };
const name = `Client Check Institute ${Date.now()}`;
const created = await client.POST("/v1/institutes", {
  headers: auth,
  body: { name, kind: "non_profit", country: "CA", sectors: ["healthcare"], parent: "cifar" },
});
check(created.response.status === 201 && created.data?.name === name, "create an institute (201)");
const slug = created.data.slug;
const etag = created.response.headers.get("etag");
check(etag !== null, "the new record's ETag");
const patched = await client.PATCH("/v1/institutes/{ref}", {
  params: { path: { ref: slug }, header: { "If-Match": etag } },
  headers: { ...auth, "Content-Type": "application/merge-patch+json" },
  body: { city: "Toronto" },
});
check(
  patched.data?.city === "Toronto" && patched.data.version === 2 && patched.data.parent?.slug === "cifar",
  "merge-patch with If-Match",
);
const stale = await client.PATCH("/v1/institutes/{ref}", {
  params: { path: { ref: slug }, header: { "If-Match": etag } },
  headers: { ...auth, "Content-Type": "application/merge-patch+json" },
  body: { city: "Montreal" },
});
check(
  stale.response.status === 412 && stale.response.headers.get("content-type") === "application/problem+json",
  "a stale If-Match gets 412, as a problem document",
);
console.log("all client checks passed");
