// A small line chart on a <canvas>: time on x, one or more series on y, with
// grid, labels and a legend. Data come from the pages' polling.
'use strict';
(function () {
  const S = window.Samsa;
  const COLORS = ['#2f6f4f', '#c0622f', '#3b6fb6', '#9b3bb6', '#b6a03b', '#3bb6a8'];

  // series: [{name, points: [[timeMs, value], ...]}]; opts: {unit: fn(v) -> text}
  S.drawChart = function (canvas, series, opts) {
    opts = opts || {};
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600, hgt = canvas.clientHeight || 200;
    canvas.width = w * dpr;
    canvas.height = hgt * dpr;
    const g = canvas.getContext('2d');
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, hgt);
    const pad = { l: 64, r: 12, t: 12, b: 40 };
    const all = series.flatMap((s) => s.points);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#666';
    if (all.length < 2) {
      g.fillText('collecting data…', pad.l, hgt / 2);
      return;
    }
    const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
    // A round top: four grid steps of 1, 2 or 5 times a power of ten.
    const top = Math.max(...all.map((p) => p[1]), 0);
    const raw = top > 0 ? top / 4 : 0.25;
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
    const vmax = step * 4;
    const x = (t) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (w - pad.l - pad.r);
    const y = (v) => hgt - pad.b - (v / vmax) * (hgt - pad.t - pad.b);
    const unit = opts.unit || ((v) => S.fmtRate(v));
    g.strokeStyle = '#e3e3e3';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (vmax * i) / 4;
      g.beginPath();
      g.moveTo(pad.l, y(v));
      g.lineTo(w - pad.r, y(v));
      g.stroke();
      g.fillText(unit(v), 4, y(v) + 4);
    }
    g.fillText(new Date(t0).toLocaleTimeString(), pad.l, hgt - pad.b + 14);
    const last = new Date(t1).toLocaleTimeString();
    g.fillText(last, w - pad.r - g.measureText(last).width, hgt - pad.b + 14);
    let lx = pad.l;
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.beginPath();
      s.points.forEach((p, j) => (j ? g.lineTo(x(p[0]), y(p[1])) : g.moveTo(x(p[0]), y(p[1]))));
      g.stroke();
      g.fillStyle = color;
      g.fillRect(lx, hgt - 14, 10, 10);
      g.fillStyle = '#333';
      g.fillText(s.name, lx + 14, hgt - 5);
      lx += 24 + g.measureText(s.name).width;
    });
  };

  // A bounded history: push(t, v) keeps the last `max` points.
  S.History = class {
    constructor(max) { this.max = max || 300; this.points = []; }
    push(t, v) { this.points.push([t, v]); if (this.points.length > this.max) this.points.shift(); }
  };
})();
