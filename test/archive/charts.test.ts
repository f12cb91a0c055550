// Metric charts: self-contained SVG with the readings in time order, the unit and dates on the axes,
// blood pressure as two lines, and every text escaped.
import { describe, expect, it } from "vitest";
import { metricChartSvg } from "../../src/archive/charts.js";
import type { MetricReading } from "../../src/archive/metrics.js";

let nextId = 1;
const reading = (measuredAt: string, value: number, value2: number | null = null): MetricReading => ({
  id: nextId++,
  memberId: "爸爸",
  kind: value2 === null ? "glucose" : "blood_pressure",
  value,
  value2,
  pulse: null,
  unit: value2 === null ? "mmol/L" : "mmHg",
  measuredAt,
  note: null,
  status: "reported",
});

/** The markers of one series, in document order: when each was measured and where it sits. */
function points(svg: string, series: string): { at: string; cx: number; cy: number }[] {
  const found = [
    ...svg.matchAll(/<circle class="point ([a-z]+)" cx="([\d.]+)" cy="([\d.]+)"[^>]*data-at="([^"]+)"/g),
  ];
  return found.filter((m) => m[1] === series).map((m) => ({ at: m[4]!, cx: Number(m[2]), cy: Number(m[3]) }));
}

/** Throws unless every element is closed in order (a well-formedness check without an XML library). */
function assertBalanced(svg: string): void {
  const open: string[] = [];
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!closing) open.push(name!);
    else if (open.pop() !== name) throw new Error(`unbalanced ${tag}`);
  }
  expect(open).toEqual([]);
}

describe("metric charts", () => {
  it("draws readings given out of order in time order, with the unit and dates", () => {
    const readings = [
      reading("2026-11-03T07:00:00.000Z", 7.2),
      reading("2026-11-01T07:00:00.000Z", 5.4),
      reading("2026-11-02T07:00:00.000Z", 6.1),
    ];
    const svg = metricChartSvg({ label: "glucose", unit: "mmol/L" }, readings, { timeZone: "UTC" });
    assertBalanced(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const drawn = points(svg, "reading");
    expect(drawn.map((p) => p.at)).toEqual([
      "2026-11-01T07:00:00.000Z",
      "2026-11-02T07:00:00.000Z",
      "2026-11-03T07:00:00.000Z",
    ]);
    expect(drawn[0]!.cx).toBeLessThan(drawn[1]!.cx);
    expect(drawn[1]!.cx).toBeLessThan(drawn[2]!.cx);
    // Higher values sit higher on the page (smaller y).
    expect(drawn[0]!.cy).toBeGreaterThan(drawn[2]!.cy);
    expect(svg).toContain("<title>glucose (mmol/L)</title>");
    expect(svg).toMatch(/<text class="unit"[^>]*>mmol\/L<\/text>/);
    const dates = [...svg.matchAll(/<text class="date"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(dates[0]).toBe("2026-11-01");
    expect(dates.at(-1)).toBe("2026-11-03");
    expect(svg).not.toMatch(/href|@import|url\(/);
  });

  it("draws blood pressure as a systolic and a diastolic line", () => {
    const readings = [
      reading("2026-11-02T00:00:00.000Z", 135, 88),
      reading("2026-11-01T00:00:00.000Z", 130, 85),
      reading("2026-11-03T00:00:00.000Z", 142, 90),
    ];
    const svg = metricChartSvg({ label: "blood pressure", unit: "mmHg" }, readings, { timeZone: "UTC" });
    assertBalanced(svg);
    expect(svg.match(/<polyline class="series (systolic|diastolic)"/g)).toEqual([
      '<polyline class="series systolic"',
      '<polyline class="series diastolic"',
    ]);
    const systolic = points(svg, "systolic");
    const diastolic = points(svg, "diastolic");
    expect(systolic.map((p) => p.at)).toEqual(diastolic.map((p) => p.at));
    expect(systolic.map((p) => p.at)).toEqual([...systolic.map((p) => p.at)].sort());
    systolic.forEach((p, i) => {
      expect(p.cy).toBeLessThan(diastolic[i]!.cy);
    });
    expect(svg).toContain("systolic</tspan>");
    expect(svg).toContain("diastolic</tspan>");
  });

  it("escapes labels and units, and says so when there is nothing to draw", () => {
    const svg = metricChartSvg({ label: '<script>alert("x")</script>', unit: "a&b" }, []);
    assertBalanced(svg);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; (a&amp;b)");
    expect(svg).toContain("No readings");
  });

  it("handles a single reading and honours the size", () => {
    const svg = metricChartSvg({ label: "weight", unit: "kg" }, [reading("2026-11-01T07:00:00.000Z", 70)], {
      width: 400,
      height: 200,
      timeZone: "UTC",
    });
    assertBalanced(svg);
    expect(svg).toContain('viewBox="0 0 400 200"');
    expect(points(svg, "reading")).toHaveLength(1);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});
