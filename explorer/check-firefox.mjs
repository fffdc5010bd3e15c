// The explorer in headless Firefox (Debian's firefox-esr, driven over WebDriver BiDi by
// puppeteer-core): the first view, a completion opened with the keyboard, an institute's charts
// in purchasing power, countries and programmes. Fails on any request leaving the server's
// origin, any console or page error and any HTTP error. Environment: REGISTRY_URL, FIREFOX
// (the browser), SHOTS (a directory for screenshots).
import puppeteer from "puppeteer-core";
import { base, checker, fail, local, run, shots } from "./harness.mjs";

const check = checker("firefox");
const browser = await puppeteer.launch({ browser: "firefox", executablePath: process.env.FIREFOX, headless: true });
await run(browser, "Firefox", async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (msg) => msg.type() === "error" && fail(`console error: ${msg.text()}`));
  page.on("pageerror", (err) => fail(`page error: ${err.message}`));
  page.on("request", (req) => {
    const url = req.url();
    if (!local(url)) fail(`a request left the origin: ${url}`);
  });
  page.on("response", (res) => res.status() >= 400 && fail(`${res.status()} for ${res.url()}`));
  const settled = () => page.waitForSelector("main[aria-busy=false]");
  const onUrl = (part) => page.waitForFunction((p) => location.href.includes(p), {}, part);

  await page.goto(`${base}/`);
  await page.waitForSelector(".results h2");
  const rows = await page.$$eval(".results tbody tr", (r) => r.length);
  check(rows > 0, `first view lists ${rows} institutes`);

  await page.click("input[name=q]");
  await page.keyboard.type("turing");
  await page.waitForSelector("[role=option]");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await onUrl("/explore/institutes/");
  await settled();
  check((await page.$eval("h1", (e) => e.textContent)).includes("Turing"), "a completion opens the institute");
  check((await page.$$eval("figure canvas", (c) => c.length)) >= 2, "its charts are drawn");
  await page.select("select[name=currency]", "PPP");
  await onUrl("currency=PPP");
  await settled();
  check((await page.$eval("section[aria-labelledby=budget-heading]", (e) => e.textContent)).includes("Int$"), "in purchasing power");
  await page.screenshot({ path: `${shots}/firefox-institute.png`, fullPage: true });

  await page.goto(`${base}/explore/countries?group_by=region&measure=per_inhabitant`);
  await settled();
  check((await page.$$eval("figure canvas", (c) => c.length)) === 1, "regions compared in a chart");
  await page.goto(`${base}/explore/programs`);
  await settled();
  check((await page.$$eval(".compare .table-wrap tbody tr", (r) => r.length)) > 5, "programmes side by side");
  await page.screenshot({ path: `${shots}/firefox-programs.png`, fullPage: true });
});
