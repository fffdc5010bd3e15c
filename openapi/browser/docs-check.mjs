// Swagger UI at /docs, in a real browser: every operation of the spec is listed, and "Try it
// out" on GET /v1/institutes shows a 200. Nothing beyond the server's own host is reachable.
// Environment: REGISTRY_URL, CHROMIUM (the browser's path), SCREENSHOT (where to save it).
import { chromium } from "playwright-core";

const base = process.env.REGISTRY_URL ?? "http://127.0.0.1:8080";
const screenshot = process.env.SCREENSHOT ?? "docs.png";
const spec = await (await fetch(`${base}/openapi.json`)).json();
const operations = Object.values(spec.paths).flatMap((item) =>
  Object.keys(item).filter((m) => ["get", "head", "put", "post", "delete", "patch"].includes(m)),
).length;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
  const outside = [];
  const origin = new URL(base).origin;
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`${base}/docs/`, { waitUntil: "networkidle" });
  await page.waitForSelector(".opblock", { timeout: 15000 });
  const listed = await page.locator(".opblock").count();
  check(listed === operations, `Swagger UI lists all ${operations} operations (${listed})`);

  const op = page.locator("#operations-institutes-listInstitutes");
  await op.locator(".opblock-summary").click();
  await op.locator(".try-out__btn").click();
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table tr.response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  const code = (await status.innerText()).trim();
  check(code === "200", `"Try it out" on GET /v1/institutes shows ${code}`);
  const body = await op.locator(".live-responses-table .microlight").first().innerText();
  check(body.includes('"items"') && body.includes('"total"'), "the response body is a page of institutes");
  await op.screenshot({ path: screenshot });
  console.log(`screenshot: ${screenshot}`);
  check(outside.length === 0, `no request left localhost (${outside.join(", ") || "none"})`);
} finally {
  await browser.close();
}
