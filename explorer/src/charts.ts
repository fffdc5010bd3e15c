// Charts drawn by uPlot. Each is a figure with a text label for assistive technology; the
// view puts the same figures in a table beside it.
import uPlot from "uplot";
import { h } from "./dom";

const COLOURS = ["#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8a6d00", "#c2185b"];

export interface Series {
  label: string;
  values: (number | null)[];
}

function figure(title: string, description: string, plot: (width: number) => uPlot): HTMLElement {
  const holder = h("div", { class: "chart", role: "img", "aria-label": `${title}. ${description}` });
  const fig = h("figure", {}, h("figcaption", {}, title), holder);
  let chart: uPlot | undefined;
  const size = () => Math.max(260, Math.min(holder.clientWidth || window.innerWidth - 48, 960));
  const observer = new ResizeObserver(() => {
    if (!holder.isConnected) {
      observer.disconnect();
      chart?.destroy();
      return;
    }
    const width = size();
    if (!chart) {
      chart = plot(width);
      holder.appendChild(chart.root);
    } else if (Math.abs(chart.width - width) > 4) {
      chart.setSize({ width, height: chart.height });
    }
  });
  observer.observe(fig);
  return fig;
}

/** Values by year, a line with points per series; gaps stay gaps. */
export function yearChart(title: string, years: number[], series: Series[], format: (v: number) => string): HTMLElement {
  const description = series
    .map((s) => `${s.label}: ${years.map((y, i) => (s.values[i] == null ? null : `${y} ${format(s.values[i] as number)}`)).filter(Boolean).join(", ")}`)
    .join("; ");
  return figure(title, description, (width) =>
    new uPlot(
      {
        width,
        height: 260,
        scales: {
          // Whole years, half a year of margin on each side (a single year stays a year wide).
          x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
          // Amounts and headcounts from zero, so that heights compare.
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          {
            // A tick per year of data (every n-th when there are many).
            splits: () => years.filter((_, i) => i % Math.ceil(years.length / 12) === 0),
            values: (_u, splits) => splits.map((v) => String(v)),
          },
          { size: 80, values: (_u, splits) => splits.map((v) => format(v)) },
        ],
        series: [
          { label: "Year", value: (_u, v) => (v == null ? "—" : String(v)) },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            points: { size: 8 },
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v == null ? "—" : format(v)),
          })),
        ],
      },
      [years, ...series.map((s) => s.values)] as uPlot.AlignedData,
    ),
  );
}

/** One bar per label, in the order given. */
export function barChart(title: string, labels: string[], values: (number | null)[], format: (v: number) => string): HTMLElement {
  const description = labels.map((l, i) => `${l} ${values[i] == null ? "no figure" : format(values[i] as number)}`).join(", ");
  const xs = labels.map((_, i) => i);
  const bars = uPlot.paths.bars?.({ size: [0.7, 48] });
  return figure(title, description, (width) =>
    new uPlot(
      {
        width,
        height: 300,
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          {
            splits: () => xs,
            values: (_u, splits) => splits.map((i) => labels[i] ?? ""),
            rotate: labels.length > 8 ? -45 : 0,
            size: labels.length > 8 ? 90 : 40,
            gap: 4,
          },
          { size: 80, values: (_u, splits) => splits.map((v) => format(v)) },
        ],
        legend: { show: false },
        series: [
          { label: "", value: (_u, i) => (i == null ? "—" : (labels[i] ?? "")) },
          {
            label: title,
            fill: "#1f5fa8cc",
            stroke: "#1f5fa8",
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v == null ? "—" : format(v)),
          },
        ],
      },
      [xs, values] as uPlot.AlignedData,
    ),
  );
}
