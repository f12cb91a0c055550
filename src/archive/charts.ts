// Metric charts as self-contained SVG: readings in time order, value axis with the unit, date axis; blood
// pressure as two lines (systolic, diastolic). No external fonts, styles or images; every text escaped.
import { formatNumber } from "./metric-kinds.js";
import { formatLocalTime, type MetricReading, type MetricSummary, zoneOf } from "./metrics.js";

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Zone for the date labels (default: the host's). */
  timeZone?: string;
}

const MARGIN = { left: 64, right: 20, top: 40, bottom: 48 };
/** Above this many readings only the lines are drawn, keeping a 10-year chart small. */
const MAX_MARKERS = 500;
const COLOURS = { value: "#c0392b", value2: "#2471a3" } as const;

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A step of 1, 2 or 5 times a power of ten that gives about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** An SVG line chart of one kind's readings (sorted by time here, whatever order they come in). */
export function metricChartSvg(
  summary: Pick<MetricSummary, "label" | "unit">,
  readings: MetricReading[],
  options: ChartOptions = {},
): string {
  const width = options.width ?? 640;
  const height = options.height ?? 320;
  const timeZone = zoneOf(options.timeZone);
  const title = `${summary.label} (${summary.unit})`;
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const sorted = [...readings].sort((a, b) => a.measuredAt.localeCompare(b.measuredAt) || a.id - b.id);
  if (sorted.length === 0) {
    const middle = `x="${width / 2}" y="${height / 2}" text-anchor="middle"`;
    return [...head, `<text ${middle} fill="#666666">No readings</text>`, "</svg>"].join("\n");
  }

  const plot = {
    x0: MARGIN.left,
    x1: width - MARGIN.right,
    y0: height - MARGIN.bottom,
    y1: MARGIN.top,
  };
  const times = sorted.map((r) => Date.parse(r.measuredAt));
  let tMin = times[0]!;
  let tMax = times[times.length - 1]!;
  if (tMax - tMin < 60_000) {
    tMin -= 43_200_000;
    tMax += 43_200_000;
  }
  const values = sorted.flatMap((r) => (r.value2 === null ? [r.value] : [r.value, r.value2]));
  let vMin = Math.min(...values);
  let vMax = Math.max(...values);
  if (vMax - vMin < 1e-9) {
    const pad = Math.abs(vMin) * 0.05 || 1;
    vMin -= pad;
    vMax += pad;
  }
  const step = niceStep(vMax - vMin, 5);
  vMin = Math.floor(vMin / step) * step;
  vMax = Math.ceil(vMax / step) * step;
  const x = (t: number) => plot.x0 + ((t - tMin) / (tMax - tMin)) * (plot.x1 - plot.x0);
  const y = (v: number) => plot.y0 - ((v - vMin) / (vMax - vMin)) * (plot.y0 - plot.y1);
  const px = (n: number) => n.toFixed(1);

  const grid: string[] = [];
  for (let i = 0; vMin + i * step <= vMax + step / 2; i++) {
    const v = vMin + i * step;
    grid.push(
      `<line x1="${plot.x0}" x2="${plot.x1}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="#e5e5e5"/>`,
      `<text x="${plot.x0 - 6}" y="${px(y(v) + 4)}" text-anchor="end">${escapeXml(formatNumber(v, 6))}</text>`,
    );
  }
  const dateTicks = Math.min(5, Math.max(2, sorted.length));
  const withTime = tMax - tMin < 2 * 86_400_000;
  for (let i = 0; i < dateTicks; i++) {
    const t = tMin + ((tMax - tMin) * i) / (dateTicks - 1);
    const label = formatLocalTime(new Date(t).toISOString(), timeZone);
    const anchor = i === 0 ? "start" : i === dateTicks - 1 ? "end" : "middle";
    grid.push(
      `<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${plot.y0}" y2="${plot.y0 + 4}" stroke="#333333"/>`,
      `<text class="date" x="${px(x(t))}" y="${plot.y0 + 16}" text-anchor="${anchor}">${escapeXml(withTime ? label : label.slice(0, 10))}</text>`,
    );
  }
  const axes = [
    `<line x1="${plot.x0}" x2="${plot.x0}" y1="${plot.y1}" y2="${plot.y0}" stroke="#333333"/>`,
    `<line x1="${plot.x0}" x2="${plot.x1}" y1="${plot.y0}" y2="${plot.y0}" stroke="#333333"/>`,
    `<text class="unit" x="14" y="${px((plot.y0 + plot.y1) / 2)}" text-anchor="middle" transform="rotate(-90 14 ${px((plot.y0 + plot.y1) / 2)})">${escapeXml(summary.unit)}</text>`,
    `<text x="${px((plot.x0 + plot.x1) / 2)}" y="${height - 8}" text-anchor="middle">date (${escapeXml(timeZone)})</text>`,
  ];

  const twoLines = sorted.some((r) => r.value2 !== null);
  const series = (which: "value" | "value2", name: string): string[] => {
    const points = sorted.filter((r) => r[which] !== null);
    const colour = COLOURS[which];
    const line = points.map((r) => `${px(x(Date.parse(r.measuredAt)))},${px(y(r[which]!))}`).join(" ");
    const markers =
      points.length > MAX_MARKERS
        ? []
        : points.map((r) => {
            const label = `${formatLocalTime(r.measuredAt, timeZone)}: ${formatNumber(r[which]!, 3)} ${summary.unit}`;
            return `<circle class="point ${name}" cx="${px(x(Date.parse(r.measuredAt)))}" cy="${px(y(r[which]!))}" r="3" fill="${colour}" data-at="${escapeXml(r.measuredAt)}"><title>${escapeXml(label)}</title></circle>`;
          });
    return [
      `<polyline class="series ${name}" fill="none" stroke="${colour}" stroke-width="1.5" points="${line}"/>`,
      ...markers,
    ];
  };
  const legend = twoLines
    ? [
        `<text x="${plot.x1}" y="22" text-anchor="end"><tspan fill="${COLOURS.value}">● systolic</tspan> <tspan fill="${COLOURS.value2}">● diastolic</tspan></text>`,
      ]
    : [];
  return [
    ...head,
    ...grid,
    ...axes,
    ...legend,
    ...series("value", twoLines ? "systolic" : "reading"),
    ...(twoLines ? series("value2", "diastolic") : []),
    "</svg>",
  ].join("\n");
}
