// What the browser checks share: the server's address, the screenshot directory, checks that
// stop the run, failures that are gathered (console errors, foreign requests) and reported
// at the end with the exit status.
import { mkdirSync } from "node:fs";

export const base = process.env.REGISTRY_URL ?? "http://127.0.0.1:8080";
export const origin = new URL(base).origin;
export const shots = process.env.SHOTS ?? "../target/explorer";
mkdirSync(shots, { recursive: true });

const failures = [];
export const fail = (what) => failures.push(what);

/** Whether a request the page made stays on the server's origin. */
export const local = (url) => url.startsWith("data:") || new URL(url).origin === origin;

export function checker(browserName) {
  return (condition, what) => {
    if (!condition) throw new Error(`check failed: ${what}`);
    console.log(`ok (${browserName}): ${what}`);
  };
}

/** Runs the checks, closes the browser, reports; exits 1 on any failure. */
export async function run(browser, browserName, checks) {
  try {
    await checks();
  } catch (err) {
    fail(String(err?.stack ?? err));
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
  console.log(`explorer in ${browserName}: all checks passed; screenshots in ${shots}`);
}
