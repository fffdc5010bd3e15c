// Controls that several views share.
import { allCurrencies, type Requests } from "./api";
import { selectLater } from "./dom";
import { currencyName } from "./format";

/** The currency to show money in: USD and purchasing power at once, the rest when known. */
export function moneySelect(requests: Requests, current: string, first: [string, string][] = []): HTMLSelectElement {
  const named = (c: string): [string, string] => [c, currencyName(c)];
  return selectLater("currency", [...first, named("USD"), named("PPP")], current, allCurrencies(requests).then((list) => list.map(named)));
}
