// The explorer in headless Chromium, used as a person would: search, filter, page, open an
// institute, switch currency, compare countries and programmes, on a phone too. Fails on any
// request that leaves the server's origin, on any console error, and when the first view
// takes longer than MAX_FIRST_VIEW_MS. Screenshots go to SHOTS (a directory).
// Environment: REGISTRY_URL, CHROMIUM (the browser), SHOTS, MAX_FIRST_VIEW_MS (default 1000).
import { chromium } from "playwright-core";
import { base, checker, fail, local, run, shots } from "./harness.mjs";

const maxFirstView = Number(process.env.MAX_FIRST_VIEW_MS ?? 1000);
const check = checker("chromium");
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
async function open(options = {}) {
  const context = await browser.newContext(options);
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    fail(`a request left the origin: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (msg) => msg.type() === "error" && fail(`console error: ${msg.text()}`));
  page.on("pageerror", (err) => fail(`page error: ${err.message}`));
  page.on("response", (res) => res.status() >= 400 && fail(`${res.status()} for ${res.url()}`));
  return { context, page };
}
const rowsOf = (page) => page.locator(".results tbody tr");
const settled = (page) => page.waitForSelector("main[aria-busy=false]");

await run(browser, "Chromium", async () => {
  const { page } = await open({ viewport: { width: 1280, height: 900 } });

  // First view: the list, timed from the navigation's start to the view's mark (after the
  // renderer has started, on a blank page).
  await page.goto("about:blank");
  await page.goto(`${base}/`);
  await page.waitForSelector(".results h2");
  const firstView = Math.round(await page.evaluate(() => performance.getEntriesByName("explorer:view")[0].startTime));
  const timings = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((r) => `${new URL(r.name).pathname}${new URL(r.name).search} ${Math.round(r.startTime)}+${Math.round(r.duration)} ms`),
  );
  console.log(`first view's requests (start+duration): ${timings.join("; ")}`);
  const total = Number((await page.textContent(".results h2")).replace(/\D/g, ""));
  check(total > 0 && (await rowsOf(page).count()) === Math.min(total, 20), `first view: ${total} institutes, ${firstView} ms`);
  check(firstView < maxFirstView, `first view under ${maxFirstView} ms`);
  await page.screenshot({ path: `${shots}/search.png`, fullPage: true });

  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press("Tab");
  check((await page.evaluate(() => document.activeElement?.textContent)) === "Skip to content", "Tab reaches the skip link first");
  const unlabelled = await page.$$eval("input:not([type=hidden]), select", (els) =>
    els.filter((e) => !e.closest("label") && !e.getAttribute("aria-label")).length,
  );
  check(unlabelled === 0, "every control has a label");

  // Page: the next page, then back.
  const firstRow = await rowsOf(page).first().textContent();
  await page.click("a[rel=next]");
  await page.waitForURL(/cursor=/);
  await settled(page);
  check((await rowsOf(page).first().textContent()) !== firstRow, "the next page shows other institutes");
  await page.goBack();
  await page.waitForURL((u) => !u.search.includes("cursor"));
  await settled(page);
  check((await rowsOf(page).first().textContent()) === firstRow, "back shows the first page again");

  // Search: words, submitted with Enter.
  await page.fill("input[name=q]", "institute");
  await page.keyboard.press("Enter");
  await page.waitForURL(/q=institute/);
  await settled(page);
  const found = Number((await page.textContent(".results h2")).replace(/\D/g, ""));
  check(found > 0 && found < total, `a search narrows the list: ${found}`);

  // Filter: a country, chosen from its list (submits at once), every row that country.
  await page.selectOption("select[name=country]", "GB");
  await page.waitForURL(/country=GB/);
  await settled(page);
  const countries = await page.$$eval(".results tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  check(countries.length > 0 && countries.every((c) => c === "GB"), `filtered to GB: ${countries.length} rows`);
  // With the keyboard: the next kind, and the focus stays on its control.
  await page.focus("select[name=kind]");
  await page.keyboard.press("ArrowDown");
  await page.waitForURL(/kind=government/);
  await settled(page);
  check((await page.evaluate(() => document.activeElement?.getAttribute("name"))) === "kind", "a control changed with the keyboard keeps the focus");
  await page.goBack();
  await page.waitForURL((u) => !u.search.includes("kind="));
  await settled(page);
  const apiLinks = await page.$$eval("#api-requests a", (as) => as.map((a) => a.getAttribute("href")));
  const listLink = apiLinks.find((href) => href.startsWith("/v1/institutes?"));
  check(listLink?.includes("country=GB") && listLink.includes("q=institute"), `the API request behind the view: ${listLink}`);
  const direct = await (await page.request.get(`${base}${listLink}`)).json();
  const shown = Number((await page.textContent(".results h2")).replace(/\D/g, ""));
  check(direct.total === shown && direct.items.length === countries.length, "the API request answers the same list");
  await page.screenshot({ path: `${shots}/search-filtered.png`, fullPage: true });

  // Open an institute from a completion, with the keyboard.
  await page.goto(`${base}/`);
  await settled(page);
  await page.click("input[name=q]");
  await page.keyboard.type("turing");
  await page.waitForSelector("[role=option]");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/explore\/institutes\//);
  await settled(page);
  check((await page.textContent("h1")).includes("Turing"), `opened ${await page.textContent("h1")}`);
  check((await page.locator("figure canvas").count()) >= 2, "budget and headcount charts drawn");
  const budgetRows = await page.locator("section[aria-labelledby=budget-heading] .table-wrap tbody tr").count();
  check(budgetRows > 0, `${budgetRows} budget figures with their sources in a table`);
  await page.screenshot({ path: `${shots}/institute.png`, fullPage: true });

  // Switch currency: purchasing power.
  await page.selectOption("select[name=currency]", "PPP");
  await page.waitForURL(/currency=PPP/);
  await settled(page);
  check((await page.textContent("section[aria-labelledby=budget-heading]")).includes("Int$"), "figures in international dollars");
  check(
    (await page.$$eval("figcaption", (f) => f.map((x) => x.textContent))).some((t) => t.includes("purchasing power")),
    "a chart in purchasing power",
  );
  await page.screenshot({ path: `${shots}/institute-ppp.png`, fullPage: true });

  // Countries compared, then regions per inhabitant.
  await page.click("nav >> text=Countries");
  await page.waitForURL(/\/explore\/countries/);
  await settled(page);
  check((await page.locator("figure canvas").count()) === 1, "a chart of countries");
  check((await page.locator(".compare .table-wrap tbody tr").count()) > 10, "and a table of countries");
  await page.screenshot({ path: `${shots}/countries.png`, fullPage: true });
  await page.selectOption("select[name=group_by]", "region");
  await page.waitForURL(/group_by=region/);
  await settled(page);
  await page.selectOption("select[name=measure]", "per_inhabitant");
  await page.waitForURL(/measure=per_inhabitant/);
  await settled(page);
  check((await page.textContent("h1")) === "Regions compared", "regions per inhabitant");
  await page.screenshot({ path: `${shots}/regions.png`, fullPage: true });
  const shared = page.url();
  await page.goto(shared);
  await settled(page);
  check((await page.inputValue("select[name=measure]")) === "per_inhabitant", "the view's state is in its URL");

  // Programmes side by side.
  await page.click("nav >> text=Programmes");
  await page.waitForURL(/\/explore\/programs/);
  await settled(page);
  const programmes = (await (await page.request.get(`${base}/v1/programs?limit=1`)).json()).total;
  check((await page.locator(".compare .table-wrap tbody tr").count()) === programmes, `all ${programmes} programmes in the table`);
  await page.selectOption("select[name=measure]", "share_of_gdp");
  await page.waitForURL(/measure=share_of_gdp/);
  await settled(page);
  await page.screenshot({ path: `${shots}/programs.png`, fullPage: true });

  // A phone: no sideways scrolling.
  const phone = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.page.goto(`${base}/explore/institutes/mila`);
  await settled(phone.page);
  const wide = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `on a phone the page fits its width (${wide} px)`);
  await phone.page.screenshot({ path: `${shots}/institute-phone.png`, fullPage: true });
});
