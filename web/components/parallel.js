// Parallel coordinates on a canvas: one vertical axis per param (numbers on a linear scale, other
// values spread as categories) and a last axis for a metric; one line per run, coloured from blue
// (lowest metric) to red (highest).

import { fmtValue, h } from '../dom.js';

/** Draws `rows` (each `{values: {axis: value}}`) over `axes` (names; the last is the metric). */
export function parallel(parent, { axes, rows }) {
  const canvas = h('canvas', { class: 'parallel', id: 'parallel', height: '300' });
  const legend = h('p', { class: 'muted', text: `${rows.length} runs · colour: ${axes[axes.length - 1]} (blue low, red high)` });
  parent.append(canvas, legend);
  const scales = axes.map((axis) => scaleOf(rows.map((r) => r.values[axis])));
  const draw = () => {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(320, parent.clientWidth || 640);
    const height = 300;
    canvas.width = width * dpr;
    canvas.height = height * dpr;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext('2d');
    g.scale(dpr, dpr);
    g.font = '12px system-ui, sans-serif';
    const left = 60;
    const right = width - 60;
    const top = 44;
    const bottom = height - 30;
    const xOf = (i) => (axes.length === 1 ? (left + right) / 2 : left + ((right - left) * i) / (axes.length - 1));
    const yOf = (scale, v) => bottom - scale.pos(v) * (bottom - top);
    const metric = scales[scales.length - 1];
    for (const row of rows) {
      const t = metric.pos(row.values[axes[axes.length - 1]]);
      g.strokeStyle = Number.isFinite(t) ? `hsla(${240 - 240 * t}, 80%, 45%, 0.75)` : 'rgba(120,120,120,0.4)';
      g.lineWidth = 1.5;
      g.beginPath();
      let drawing = false;
      axes.forEach((axis, i) => {
        const p = scales[i].pos(row.values[axis]);
        if (!Number.isFinite(p)) { drawing = false; return; }
        const [x, y] = [xOf(i), yOf(scales[i], row.values[axis])];
        if (drawing) g.lineTo(x, y); else g.moveTo(x, y);
        drawing = true;
      });
      g.stroke();
    }
    g.fillStyle = '#222';
    g.strokeStyle = '#888';
    axes.forEach((axis, i) => {
      const x = xOf(i);
      g.beginPath();
      g.moveTo(x, top);
      g.lineTo(x, bottom);
      g.stroke();
      g.textAlign = 'center';
      g.fillText(axis, x, 16);
      const [lo, hi] = scales[i].ends();
      g.fillText(lo, x, bottom + 16);
      g.fillText(hi, x, top - 6);
    });
  };
  draw();
  return { redraw: draw };
}

/** A scale over `values`: `pos(v)` in [0, 1] (NaN when missing) and `ends()` labels. */
function scaleOf(values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length && present.every((v) => typeof v === 'number')) {
    const lo = Math.min(...present);
    const hi = Math.max(...present);
    return {
      pos: (v) => (typeof v === 'number' ? (hi === lo ? 0.5 : (v - lo) / (hi - lo)) : NaN),
      ends: () => [fmtValue(lo), fmtValue(hi)],
    };
  }
  const cats = [...new Set(present.map((v) => fmtValue(v)))].sort();
  return {
    pos: (v) => {
      if (v === null || v === undefined) return NaN;
      const i = cats.indexOf(fmtValue(v));
      return cats.length === 1 ? 0.5 : i / (cats.length - 1);
    },
    ends: () => [cats[0] || '', cats[cats.length - 1] || ''],
  };
}
