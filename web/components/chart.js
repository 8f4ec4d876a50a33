// A metric chart on uPlot (canvas). It draws the server's downsampled overview of each series
// (`sample=` on the events read); zooming (drag across the plot) asks the server for a sample dense
// enough for the zoomed window (the API samples a whole series, it has no step range), then draws the
// window's points decimated to the plot's pixel width (min-max), with the overview outside it.
// Double-click goes back to the overview.

import uPlot from '../vendor/uPlot.esm.js';
import { COLORS, fmtValue, h } from '../dom.js';
import { lowerBound, minmax, upperBound, windowOf } from '../sampling.js';

/** Points per series in the overview. */
export const BASE_SAMPLE = 1000;
/** The densest sample a zoom asks for. */
const MAX_SAMPLE = 100000;
const STEPS = [2000, 5000, 10000, 20000, 50000, MAX_SAMPLE];

export class MetricChart {
  /**
   * `series`: `[{label, x, y, time?}]` (the overview; `time`: x is epoch seconds); `total`: the most points any series holds on the
   * server; `refine(sample, signal)` answers the same series sampled to at most `sample` points.
   */
  constructor(parent, { title, series, total, refine, signal, id }) {
    this.refine = refine;
    this.signal = signal;
    this.zoom = null;
    this.fine = null;
    this.fineSample = 0;
    this.plotEl = h('div', { class: 'plot' });
    this.note = h('p', { class: 'chart-note muted' });
    this.el = h('figure', { class: 'chart', dataset: { metric: title }, id },
      h('figcaption', { text: title }), this.plotEl, this.note);
    parent.append(this.el);
    this.setSeries(series, total);
    this.resize = new ResizeObserver(() => {
      const width = this.plotEl.clientWidth;
      if (this.plot && width && Math.abs(width - this.plot.width) > 4) this.plot.setSize({ width, height: 260 });
    });
    this.resize.observe(this.plotEl);
  }

  /** Replaces the overview (a live refresh); a zoomed chart keeps its window. */
  setSeries(series, total) {
    this.coarse = series;
    this.total = total;
    this.fine = null;
    this.fineSample = 0;
    const points = series.reduce((n, s) => n + s.x.length, 0);
    this.xmin = Math.min(...series.map((s) => (s.x.length ? s.x[0] : Infinity)));
    this.xmax = Math.max(...series.map((s) => (s.x.length ? s.x[s.x.length - 1] : -Infinity)));
    if (!this.plot || this.plot.series.length !== series.length + 1) {
      if (this.plot) this.plot.destroy();
      this.plot = new uPlot(this.options(series), this.build(null), this.plotEl);
    } else if (!this.zoom) {
      this.plot.setData(this.build(null), true);
    }
    this.el.dataset.points = String(points);
    this.describe();
  }

  options(series) {
    const time = series.some((s) => s.time);
    return {
      width: Math.max(280, this.plotEl.clientWidth || 600),
      height: 260,
      scales: { x: { time } },
      series: [
        time
          ? { label: 'time' }
          : { label: 'step', value: (_, v) => (v === null || v === undefined ? '—' : fmtValue(v)) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color || COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: true,
          points: { show: false },
          value: (_, v) => (v === null || v === undefined ? '—' : fmtValue(v)),
        })),
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: { setScale: [(u, key) => { if (key === 'x') this.onScale(u.scales.x.min, u.scales.x.max); }] },
    };
  }

  /** uPlot's aligned data: the overview, or inside `range` the densest points we have. */
  build(range) {
    const buckets = Math.max(100, Math.round(this.plotEl.clientWidth || 600));
    const tables = this.coarse.map((coarse, i) => {
      if (!range) return [coarse.x, coarse.y];
      const src = (this.fine && this.fine[i]) || coarse;
      const [lo, hi] = windowOf(src.x, range.min, range.max);
      const win = minmax(src.x, src.y, lo, hi, buckets);
      if (!win.x.length) return [coarse.x, coarse.y];
      const before = lowerBound(coarse.x, win.x[0]);
      const after = upperBound(coarse.x, win.x[win.x.length - 1]);
      return [
        [...coarse.x.slice(0, before), ...win.x, ...coarse.x.slice(after)],
        [...coarse.y.slice(0, before), ...win.y, ...coarse.y.slice(after)],
      ];
    });
    if (tables.length === 1) return tables[0];
    return uPlot.join(tables);
  }

  onScale(min, max) {
    if (min === null || max === null || (this.zoom && this.zoom.min === min && this.zoom.max === max)) return;
    if (min <= this.xmin && max >= this.xmax) {
      if (this.zoom) {
        this.zoom = null;
        this.plot.setData(this.build(null), true);
        this.describe();
      }
      return;
    }
    this.zoom = { min, max };
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.applyZoom().catch((err) => this.fail(err)), 120);
  }

  async applyZoom() {
    const zoom = this.zoom;
    if (!zoom) return;
    const shown = Math.max(...this.coarse.map((s) => s.x.length));
    const fraction = Math.max((zoom.max - zoom.min) / Math.max(1e-9, this.xmax - this.xmin), 1e-9);
    const wanted = Math.min(this.total, Math.ceil(BASE_SAMPLE / fraction));
    const sample = STEPS.find((s) => s >= wanted) || MAX_SAMPLE;
    if (this.refine && this.total > shown && sample > this.fineSample) {
      this.note.textContent = `Loading a sample of ${sample.toLocaleString()} points for the zoomed range…`;
      const fine = await this.refine(sample, this.signal);
      if (this.fineSample < sample) {
        this.fine = fine;
        this.fineSample = sample;
      }
    }
    if (this.zoom !== zoom) return;
    this.plot.setData(this.build(zoom), false);
    this.plot.setScale('x', { min: zoom.min, max: zoom.max });
    this.describe();
  }

  describe() {
    const shown = Math.max(0, ...this.coarse.map((s) => s.x.length));
    const stored = `${this.total.toLocaleString()} point${this.total === 1 ? '' : 's'}`;
    let text = shown < this.total ? `${stored}, overview of ${shown.toLocaleString()}` : stored;
    if (this.zoom) {
      text += this.fineSample ? `; zoomed on a sample of ${Math.min(this.fineSample, this.total).toLocaleString()}` : '; zoomed';
      text += ' (double-click to reset)';
    } else if (this.total > 1) {
      text += ' · drag to zoom';
    }
    this.note.textContent = text;
    this.el.dataset.zoomed = this.zoom ? 'true' : 'false';
    this.el.dataset.sample = String(this.fineSample || shown);
  }

  fail(err) {
    if (err && err.name === 'AbortError') return;
    this.note.textContent = `Cannot load a finer sample: ${err.message}`;
  }

  /** Frees the canvas and observers. */
  destroy() {
    clearTimeout(this.timer);
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
  }
}
