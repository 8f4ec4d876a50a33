// Client-side resampling of a sorted series for drawing: the points of an x window (binary search)
// and min-max decimation into pixel-wide buckets, so a zoomed window of a dense series draws the same
// envelope as the full data with a few thousand points.

/** The first index whose `x` is ≥ `value` (`x` ascending). */
export function lowerBound(x, value) {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose `x` is > `value` (`x` ascending). */
export function upperBound(x, value) {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Indexes `[lo, hi)` of the points with `min ≤ x ≤ max`, widened by one point on each side so the
 * line runs to the window's edges.
 */
export function windowOf(x, min, max) {
  const lo = Math.max(0, lowerBound(x, min) - 1);
  const hi = Math.min(x.length, upperBound(x, max) + 1);
  return [lo, hi];
}

/**
 * Points `[lo, hi)` of `(x, y)` decimated to at most about `2 × buckets`: per bucket of equal x width,
 * its minimum and maximum (in x order), plus the first and last points. Short input is kept whole.
 */
export function minmax(x, y, lo, hi, buckets) {
  if (hi - lo <= 2 * buckets + 2) return { x: x.slice(lo, hi), y: y.slice(lo, hi) };
  const outX = [x[lo]];
  const outY = [y[lo]];
  const x0 = x[lo];
  const width = (x[hi - 1] - x0) / buckets || 1;
  let i = lo + 1;
  for (let b = 0; b < buckets && i < hi - 1; b += 1) {
    const end = x0 + (b + 1) * width;
    let minI = -1;
    let maxI = -1;
    for (; i < hi - 1 && (x[i] < end || b === buckets - 1); i += 1) {
      const v = y[i];
      if (v === null || v === undefined) continue;
      if (minI < 0 || v < y[minI]) minI = i;
      if (maxI < 0 || v > y[maxI]) maxI = i;
    }
    if (minI < 0) continue;
    const [a, c] = minI <= maxI ? [minI, maxI] : [maxI, minI];
    outX.push(x[a]);
    outY.push(y[a]);
    if (c !== a) {
      outX.push(x[c]);
      outY.push(y[c]);
    }
  }
  outX.push(x[hi - 1]);
  outY.push(y[hi - 1]);
  return { x: outX, y: outY };
}
