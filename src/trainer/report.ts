import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const asset = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');

export interface ReportInput {
  readonly title: string;
  /** Facts shown above the charts (game, algorithm, seed, final figures). */
  readonly summary: Readonly<Record<string, string | number>>;
  /** The rows of metrics.jsonl. */
  readonly metrics: readonly Record<string, unknown>[];
  /** The charts, each drawn when a row has one of its series (default: those of a tabular run). */
  readonly charts?: readonly Chart[];
  /** The x axis of every chart (default: episodes). */
  readonly x?: { readonly key: string; readonly label: string };
  /** Tables below the summary (version ratings...). */
  readonly tables?: readonly { readonly title: string; readonly head: readonly string[]; readonly rows: readonly (readonly (string | number)[])[] }[];
}

export interface Chart {
  readonly title: string;
  readonly series: readonly { readonly key: string; readonly label: string }[];
  readonly log?: boolean;
}

const CHARTS: readonly Chart[] = [
  { title: 'Exploitability', log: true, series: [{ key: 'exploitability', label: 'average policy' }, { key: 'exploitabilityLast', label: 'last iterate' }] },
  { title: 'Policy entropy (nats, mean over information states)', series: [{ key: 'entropy', label: 'entropy' }] },
  { title: 'Advantages', series: [{ key: 'advantageMean', label: 'mean' }, { key: 'advantageStd', label: 'std' }] },
  { title: 'Throughput (episodes per second)', series: [{ key: 'episodesPerSecond', label: 'episodes/s' }] },
];

/**
 * An axis tick as text, short enough for the axis: thousands as k and M,
 * small values (a log axis reaches 1e-5) in exponent form rather than
 * rounded to 0. It runs in the page, so it must be self-contained.
 */
export function tickText(value: number): string {
  if (value === 0) return '0';
  const size = Math.abs(value);
  if (size >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (size >= 1e4) return `${+(value / 1e3).toPrecision(3)}k`;
  if (size < 1e-3) return (+value.toPrecision(2)).toExponential();
  return String(+value.toPrecision(3));
}

/** A summary figure as a reader wants it: integers whole, other numbers to 4 significant digits. */
export function summaryText(value: string | number): string {
  return typeof value === 'number' && !Number.isInteger(value) ? String(+value.toPrecision(4)) : String(value);
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
// JSON inside <script> must not be able to close the tag.
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * A self-contained HTML report of a training run: the curves of its metrics
 * drawn with uPlot, which is inlined, so the file opens with no network.
 */
export function renderReport(input: ReportInput): string {
  const axis = input.x ?? { key: 'episodes', label: 'episodes' };
  const x = input.metrics.map((m) => Number(m[axis.key]));
  const charts = (input.charts ?? CHARTS).map((chart) => ({
    title: chart.title,
    log: chart.log ?? false,
    labels: chart.series.map((s) => s.label),
    data: [x, ...chart.series.map((s) => input.metrics.map((m) => (typeof m[s.key] === 'number' ? (m[s.key] as number) : null)))],
  })).filter((chart) => chart.data.slice(1).some((column) => column.some((v) => v !== null)));
  const rows = Object.entries(input.summary)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(summaryText(v))}</td></tr>`)
    .join('');
  const tables = (input.tables ?? [])
    .map(
      (table) =>
        `<h2>${escapeHtml(table.title)}</h2><table class="grid"><tr>${table.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${table.rows
          .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(summaryText(cell))}</td>`).join('')}</tr>`)
          .join('')}</table>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(input.title)}</title>
<style>${asset('uPlot.min.css')}
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: 0.2rem 1rem 0.2rem 0; }
.chart { margin-bottom: 2rem; }
table.grid th, table.grid td { border-bottom: 1px solid #ddd; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<table>${rows}</table>
${tables}
<div id="charts"></div>
<script>${asset('uPlot.iife.min.js')}</script>
<script>
const charts = ${scriptJson(charts)};
const xLabel = ${scriptJson(axis.label)};
${tickText.toString()}
const ticks = (u, values) => values.map((v) => (v == null ? '' : tickText(v)));
// Room for the longest tick label, measured in the axis font.
const measure = document.createElement('canvas').getContext('2d');
measure.font = '12px system-ui, sans-serif';
const axisSize = (u, values) => (values ? Math.ceil(Math.max(0, ...values.map((v) => measure.measureText(v).width))) + 24 : 50);
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
// Updates and episodes are whole numbers: no tick between 1 and 2.
const wholeSteps = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p)).sort((a, b) => a - b);
for (const chart of charts) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.title = chart.title;
  document.getElementById('charts').appendChild(box);
  new uPlot({
    title: chart.title,
    width: Math.min(900, window.innerWidth - 60),
    height: 300,
    // Right padding: the last x label is centred on the plot's edge.
    padding: [12, 32, 0, 0],
    scales: { x: { time: false }, y: chart.log ? { distr: 3 } : {} },
    axes: [{ label: xLabel, values: ticks, incrs: wholeSteps }, { values: ticks, size: axisSize }],
    series: [{ label: xLabel }, ...chart.labels.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 2, spanGaps: true }))],
  }, chart.data, box);
}
</script>
</body>
</html>
`;
}
