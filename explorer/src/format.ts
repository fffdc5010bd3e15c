// Numbers and money as people read them. PPP is the API's name for international dollars.
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2 });

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : whole.format(n);
}

export function money(amount: number | null | undefined, currency: string, short = false): string {
  if (amount === null || amount === undefined) return "—";
  const n = short ? compact.format(amount) : whole.format(amount);
  return currency === "PPP" ? `Int$ ${n}` : `${currency} ${n}`;
}

export function percent(p: number | null | undefined): string {
  return p === null || p === undefined ? "—" : `${p.toLocaleString(undefined, { maximumSignificantDigits: 3 })} %`;
}

export function decimal(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? "—" : n.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function currencyName(code: string): string {
  return code === "PPP" ? "international dollars (purchasing power)" : code;
}

/** A source is a URL or a citation: a link only for http(s). */
export function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}
