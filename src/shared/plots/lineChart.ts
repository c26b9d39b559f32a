import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { TrainerError } from '../errors.js';

/** One named line: its (x, y) points, in drawing order. */
export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChart {
  title?: string;
  xTitle: string;
  yTitle: string;
  series: readonly LineSeries[];
  xLog?: boolean;
  yLog?: boolean;
  /** Plot area in pixels (axes and legend come on top). */
  width?: number;
  height?: number;
  /** Draw a dot on every point: for sparse series such as evaluations. */
  points?: boolean;
}

/** A chart that cannot be drawn as asked: empty, non-finite or non-positive on a log axis. */
export class PlotError extends TrainerError {
  constructor(message: string) {
    super('E_PLOT', message);
    this.name = 'PlotError';
  }
}

interface Row {
  series: string;
  x: number;
  y: number;
  order: number;
}

function rowsOf(chart: LineChart): Row[] {
  if (chart.series.length === 0) throw new PlotError(`chart "${chart.title ?? chart.yTitle}" has no series`);
  const names = new Set<string>();
  const rows: Row[] = [];
  for (const s of chart.series) {
    if (names.has(s.name)) throw new PlotError(`series "${s.name}" appears twice`);
    names.add(s.name);
    if (s.points.length === 0) throw new PlotError(`series "${s.name}" has no points`);
    s.points.forEach(([x, y], order) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        throw new PlotError(`series "${s.name}" point ${order} is not finite: (${x}, ${y})`);
      }
      if ((chart.xLog === true && x <= 0) || (chart.yLog === true && y <= 0)) {
        throw new PlotError(`series "${s.name}" point ${order} (${x}, ${y}) cannot go on a log axis`);
      }
      rows.push({ series: s.name, x, y, order });
    });
  }
  return rows;
}

/** The vega-lite description of a chart: one colour per series, legend in the given order. */
export function lineChartSpec(chart: LineChart): TopLevelSpec {
  const rows = rowsOf(chart);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(chart.title !== undefined ? { title: chart.title } : {}),
    width: chart.width ?? 560,
    height: chart.height ?? 320,
    background: 'white',
    data: { values: rows },
    mark: { type: 'line', point: chart.points === true, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: chart.xTitle, scale: chart.xLog === true ? { type: 'log' } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: chart.yTitle, scale: chart.yLog === true ? { type: 'log' } : { zero: false } },
      // No label limit: vega's default (160 px) cuts a long series name with an ellipsis.
      color: { field: 'series', type: 'nominal', title: null, sort: chart.series.map((s) => s.name), legend: { labelLimit: 0 } },
      // Points join in the order given, not sorted by x: a history may revisit an x after a restart.
      order: { field: 'order', type: 'quantitative' },
    },
  };
}

/**
 * Renders a line chart to an SVG document, headless: vega's `none` renderer needs no canvas
 * (text widths are estimated), so this runs in plain Node.
 */
export async function renderLineChart(chart: LineChart): Promise<string> {
  const { spec } = compile(lineChartSpec(chart));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
