/**
 * The page's one inline script, allowed by its sha256 in the Content-Security-Policy. It reads
 * the data island, and draws everything interactive: the filters (machine, mode, harts, strategy
 * set, scenario), the sortable cost table, the cost charts (one facet per machine, mode and cost
 * scenario; direct labels; a log axis when values span two decades; hover values) and the trace
 * viewer (a cycle axis, in µs at the machine's frequency; zoom; search), decoding a trace only when
 * it is opened. Every string from the document goes in through `textContent`, never as markup.
 *
 * Plain ES2020 in a string (no template literals inside, so `String.raw` keeps it verbatim).
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var D = JSON.parse(document.getElementById('tlb-data').textContent);
var SVGNS = 'http://www.w3.org/2000/svg';
var COLORS = ['#1f77b4','#d62728','#2ca02c','#9467bd','#ff7f0e','#8c564b','#e377c2','#17becf','#7f7f7f','#bcbd22','#393b79','#637939'];
var DASH = ['', '5 3', '2 2', '8 3 2 3'];
var KIND_COLORS = {op:'#9e9e9e',access:'#4c78a8',walk:'#72b7b2',speculate:'#b279a2',fault:'#d62728',trap:'#f58518',slot:'#54a24b',fence:'#c9a400','ipi-send':'#9d755d','ipi-handle':'#bab0ac',sbi:'#ff9da6',map:'#1f4e99',unmap:'#8c564b',outcome:'#000000'};
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function sv(tag, attrs, text) {
  var e = document.createElementNS(SVGNS, tag);
  if (attrs) for (var k in attrs) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) >= 1000) return String(Math.round(x));
  var p = x.toPrecision(3);
  return p.indexOf('e') >= 0 ? String(Number(p)) : p;
}
var tip = el('div', {id: 'tip', role: 'status'});
document.body.appendChild(tip);
function showTip(ev, text) {
  tip.textContent = text;
  tip.style.display = 'block';
  tip.style.left = (ev.pageX + 12) + 'px';
  tip.style.top = (ev.pageY + 12) + 'px';
}
function hideTip() { tip.style.display = 'none'; }

// ---- filters
var DIMS = [
  {key: 'machine', label: 'machine', values: D.machines},
  {key: 'mode', label: 'mode', values: D.modes},
  {key: 'harts', label: 'harts', values: D.harts.map(String)},
  {key: 'strategy', label: 'strategy set', values: D.strategies},
  {key: 'scenario', label: 'scenario', values: D.scenarios}
];
var on = {};
DIMS.forEach(function (d) { on[d.key] = new Set(d.values); });
var bar = document.getElementById('filters');
DIMS.forEach(function (d) {
  var fs = el('fieldset', {'data-dim': d.key});
  fs.appendChild(el('legend', null, d.label));
  var all = el('button', {type: 'button', 'class': 'mini'}, 'all');
  all.addEventListener('click', function () {
    var boxes = fs.querySelectorAll('input');
    var every = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    Array.prototype.forEach.call(boxes, function (b) { b.checked = !every; });
    sync();
  });
  fs.appendChild(all);
  d.values.forEach(function (v) {
    var lab = el('label');
    var box = el('input', {type: 'checkbox', value: v});
    box.checked = true;
    box.addEventListener('change', sync);
    lab.appendChild(box);
    lab.appendChild(document.createTextNode(' ' + v));
    fs.appendChild(lab);
  });
  bar.appendChild(fs);
});
function sync() {
  DIMS.forEach(function (d) {
    var set = new Set();
    bar.querySelectorAll('fieldset[data-dim="' + d.key + '"] input').forEach(function (b) { if (b.checked) set.add(b.value); });
    on[d.key] = set;
  });
  apply();
}
var filtered = document.querySelectorAll('[data-machine],[data-mode],[data-strategy],[data-scenario],[data-harts]');
function visible(e) {
  for (var i = 0; i < DIMS.length; i++) {
    var k = DIMS[i].key;
    var v = e.getAttribute('data-' + k);
    if (v !== null && !on[k].has(v)) return false;
  }
  return true;
}
// The heavy parts are drawn when their section first nears the viewport (so the load event does
// not wait for them) and redrawn on a filter change only once drawn.
var drawn = {};
var LAZY = {'charts-grid': drawCharts, 'cost-table': drawCosts, 'trace-index': drawTraceIndex};
function apply() {
  filtered.forEach(function (e) { e.classList.toggle('hide', !visible(e)); });
  for (var id in LAZY) if (drawn[id]) LAZY[id]();
}
var io = new IntersectionObserver(function (entries) {
  entries.forEach(function (en) {
    if (!en.isIntersecting || drawn[en.target.id]) return;
    drawn[en.target.id] = true;
    LAZY[en.target.id]();
  });
}, {rootMargin: '600px'});
for (var lid in LAZY) { var le = document.getElementById(lid); if (le) io.observe(le); }
function rowOn(m, mode, sc, h, st) {
  return on.machine.has(D.machines[m]) && on.mode.has(D.modes[mode]) && on.scenario.has(D.scenarios[sc]) &&
    on.harts.has(String(h)) && on.strategy.has(D.strategies[st]);
}

// ---- cost table
// Headers by data column; the basis (data column 16) is shown next to the verdict it qualifies.
var COST_HEAD = ['machine', 'mode', 'scenario', 'harts', 'strategy set', 'verdict', 'IPIs/map', 'sf.all', 'sf.asid', 'sf.va', 'sf.va+asid', 'refill', 'spurious', 'lat p50', 'lat p99', 'cycles', 'basis'];
var COST_SHOWN = [0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
var VERDICT = ['incorrect', 'correct', 'inconclusive'];
var BASIS_COL = 16;
var sortCol = -1, sortDir = 1;
function costValue(r, i) {
  if (i === 0) return D.machines[r[0]];
  if (i === 1) return D.modes[r[1]];
  if (i === 2) return D.scenarios[r[2]];
  if (i === 3) return r[3];
  if (i === 4) return D.strategies[r[4]];
  if (i === 5) return VERDICT[r[5]];
  if (i === BASIS_COL) return D.bases[r[BASIS_COL]];
  return r[i];
}
function drawCosts() {
  var host = document.getElementById('cost-table');
  if (!host) return;
  var rows = D.costs.filter(function (r) { return rowOn(r[0], r[1], r[2], r[3], r[4]); });
  if (sortCol >= 0) {
    rows.sort(function (a, b) {
      var x = costValue(a, sortCol), y = costValue(b, sortCol);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
  }
  var table = el('table', {'class': 'costs sortable'});
  var thead = el('thead'), tr = el('tr');
  COST_SHOWN.forEach(function (i) {
    var h = COST_HEAD[i];
    var th = el('th', {scope: 'col', 'aria-sort': i === sortCol ? (sortDir > 0 ? 'ascending' : 'descending') : 'none'}, h + (i === sortCol ? (sortDir > 0 ? ' \u25b2' : ' \u25bc') : ''));
    th.addEventListener('click', function () {
      if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = 1; }
      drawCosts();
    });
    tr.appendChild(th);
  });
  thead.appendChild(tr);
  table.appendChild(thead);
  var tb = el('tbody');
  rows.forEach(function (r) {
    var row = el('tr', r[5] === 1 ? null : {'class': r[5] === 2 ? 'unsure' : 'bad'});
    for (var j = 0; j < COST_SHOWN.length; j++) {
      var i = COST_SHOWN[j];
      var v = costValue(r, i);
      var num = (i >= 6 && i < BASIS_COL) || i === 3;
      row.appendChild(el('td', num ? {'class': 'num'} : null, num && i !== 3 ? fmt(v) : v));
    }
    tb.appendChild(row);
  });
  table.appendChild(tb);
  host.replaceChildren(table);
  document.getElementById('cost-count').textContent = rows.length + ' of ' + D.costs.length + ' rows';
}

// ---- charts
var METRICS = [
  ['ipisPerMapping', 'IPIs per new mapping'], ['cycles', 'cycles per run'], ['mappingLatencyP50', 'mapping latency p50 (cycles)'],
  ['mappingLatencyP99', 'mapping latency p99 (cycles)'], ['refillMisses', 'refill misses per run'], ['spuriousFaults', 'spurious faults per run'],
  ['sfenceAll', 'sfence.vma x0,x0 per run'], ['sfenceVa', 'sfence.vma va per run']
];
var metricSel = document.getElementById('chart-metric');
METRICS.forEach(function (m) { metricSel.appendChild(el('option', {value: m[0]}, m[1])); });
metricSel.addEventListener('change', drawCharts);
var logSel = document.getElementById('chart-log');
logSel.addEventListener('change', drawCharts);
function drawCharts() {
  var host = document.getElementById('charts-grid');
  if (!host) return;
  var field = metricSel.value;
  var col = 6 + D.costFields.indexOf(field);
  var facets = new Map();
  D.costs.forEach(function (r) {
    if (!rowOn(r[0], r[1], r[2], r[3], r[4]) || r[col] === null) return;
    var key = r[0] + '|' + r[1] + '|' + r[2];
    if (!facets.has(key)) facets.set(key, []);
    facets.get(key).push(r);
  });
  host.replaceChildren();
  if (facets.size === 0) { host.appendChild(el('p', null, 'Nothing to chart under these filters.')); return; }
  facets.forEach(function (rows, key) {
    var f = key.split('|').map(Number);
    host.appendChild(facet(D.machines[f[0]] + ' / ' + D.modes[f[1]] + ' / ' + D.scenarios[f[2]], rows, col, f));
  });
}
function facet(title, rows, col, f) {
  var W = 380, H = 210, L = 46, R = 150, T = 8, B = 30;
  var series = new Map();
  rows.forEach(function (r) {
    var s = r[4];
    if (!series.has(s)) series.set(s, []);
    series.get(s).push({h: r[3], v: r[col], ok: r[5] === 1, unsure: r[5] === 2});
  });
  // Sets with identical curves share one line and one label.
  var merged = new Map();
  series.forEach(function (pts, s) {
    pts.sort(function (a, b) { return a.h - b.h; });
    var sig = JSON.stringify(pts);
    if (!merged.has(sig)) merged.set(sig, {names: [], pts: pts, first: s});
    merged.get(sig).names.push(D.strategies[s]);
  });
  var hs = rows.map(function (r) { return r[3]; });
  var vs = rows.map(function (r) { return r[col]; });
  var hMin = Math.min.apply(null, hs), hMax = Math.max.apply(null, hs);
  var pos = vs.filter(function (v) { return v > 0; });
  var vMax = Math.max.apply(null, vs.concat([0]));
  var vMinPos = pos.length ? Math.min.apply(null, pos) : 1;
  var log = logSel.value === 'log' || (logSel.value === 'auto' && pos.length > 0 && vMax / vMinPos >= 100);
  var floor = log ? Math.pow(10, Math.floor(Math.log10(vMinPos))) : 0;
  var top = log ? Math.pow(10, Math.ceil(Math.log10(Math.max(vMax, floor * 10)))) : (vMax > 0 ? vMax * 1.08 : 1);
  function x(h) { return hMax === hMin ? L + (W - L - R) / 2 : L + (Math.log2(h) - Math.log2(hMin)) / (Math.log2(hMax) - Math.log2(hMin)) * (W - L - R); }
  function y(v) {
    if (log) { var lv = Math.log10(Math.max(v, floor)); return T + (1 - (lv - Math.log10(floor)) / (Math.log10(top) - Math.log10(floor))) * (H - T - B); }
    return T + (1 - v / top) * (H - T - B);
  }
  var fig = el('figure', {'class': 'chart', 'data-chart': title});
  fig.appendChild(el('figcaption', null, title + (log ? ' (log scale)' : '')));
  var svg = sv('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'font-size': 10, 'font-family': 'sans-serif'});
  svg.appendChild(sv('rect', {x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fff', stroke: '#ccc'}));
  var ticks = [];
  if (log) { for (var p = floor; p <= top * 1.0001; p *= 10) ticks.push(p); }
  else {
    var raw = top / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), unit = raw / mag;
    var step = (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 2.5 ? 2.5 : unit <= 5 ? 5 : 10) * mag;
    top = step * Math.ceil(top / step);
    for (var tv = 0; tv <= top * 1.0001; tv += step) ticks.push(tv);
  }
  ticks.forEach(function (t) {
    svg.appendChild(sv('line', {x1: L, x2: W - R, y1: y(t), y2: y(t), stroke: '#eee'}));
    svg.appendChild(sv('text', {x: L - 4, y: y(t) + 3, 'text-anchor': 'end'}, fmt(t)));
  });
  Array.from(new Set(hs)).sort(function (a, b) { return a - b; }).forEach(function (h) {
    svg.appendChild(sv('text', {x: x(h), y: H - B + 13, 'text-anchor': 'middle'}, h));
  });
  svg.appendChild(sv('text', {x: L + (W - L - R) / 2, y: H - 4, 'text-anchor': 'middle'}, 'harts'));
  var labels = [];
  var n = 0;
  merged.forEach(function (m) {
    var color = COLORS[m.first % COLORS.length], dash = DASH[Math.floor(m.first / COLORS.length) % DASH.length];
    var d = m.pts.map(function (p, i) { return (i ? 'L' : 'M') + x(p.h).toFixed(1) + ' ' + y(p.v).toFixed(1); }).join('');
    svg.appendChild(sv('path', {d: d, fill: 'none', stroke: color, 'stroke-width': 1.8, 'stroke-dasharray': dash}));
    var name = m.names.join(' = ');
    m.pts.forEach(function (p) {
      var c = sv('circle', {cx: x(p.h), cy: y(p.v), r: 3.5, fill: p.ok ? color : '#fff', stroke: color, 'class': 'pt'});
      var text = name + ' at ' + p.h + ' harts: ' + fmt(p.v) + (p.ok ? '' : p.unsure ? ' (inconclusive cell)' : ' (incorrect cell)');
      c.addEventListener('mousemove', function (ev) { showTip(ev, text); });
      c.addEventListener('mouseleave', hideTip);
      c.appendChild(sv('title', null, text));
      svg.appendChild(c);
    });
    var last = m.pts[m.pts.length - 1];
    labels.push({y: y(last.v), name: name, color: color});
    n++;
  });
  // Direct labels at the right end, pushed apart so they never overlap.
  labels.sort(function (a, b) { return a.y - b.y; });
  for (var j = 1; j < labels.length; j++) if (labels[j].y - labels[j - 1].y < 11) labels[j].y = labels[j - 1].y + 11;
  labels.forEach(function (l) {
    var t = sv('text', {x: W - R + 4, y: l.y + 3, fill: l.color}, l.name.length > 26 ? l.name.slice(0, 25) + '\u2026' : l.name);
    t.appendChild(sv('title', null, l.name));
    svg.appendChild(t);
  });
  fig.appendChild(svg);
  return fig;
}

// ---- traces
function traceOn(t) { return on.machine.has(D.machines[t[1]]) && on.mode.has(D.modes[t[2]]) && on.scenario.has(D.scenarios[t[3]]) && on.harts.has(String(t[4])) && on.strategy.has(D.strategies[t[5]]); }
function drawTraceIndex() {
  var host = document.getElementById('trace-index');
  if (!host) return;
  var table = el('table', {'class': 'traces'});
  var hr = el('tr');
  ['cell', 'outcome', 'seed', 'events', ''].forEach(function (h) { hr.appendChild(el('th', {scope: 'col'}, h)); });
  var th = el('thead'); th.appendChild(hr); table.appendChild(th);
  var tb = el('tbody');
  var shown = 0;
  D.traces.forEach(function (t, i) {
    if (!traceOn(t)) return;
    shown++;
    var tr = el('tr');
    tr.appendChild(el('td', null, t[0]));
    tr.appendChild(el('td', null, t[6]));
    tr.appendChild(el('td', {'class': 'num'}, t[7]));
    tr.appendChild(el('td', {'class': 'num'}, t[8]));
    var td = el('td');
    var b = el('button', {type: 'button', 'class': 'open-trace', 'data-trace': i}, 'open');
    td.appendChild(b); tr.appendChild(td); tb.appendChild(tr);
  });
  table.appendChild(tb);
  host.replaceChildren(table);
  document.getElementById('trace-count').textContent = shown + ' of ' + D.traces.length + ' failing cells with a trace';
}
document.addEventListener('click', function (ev) {
  var b = ev.target.closest && ev.target.closest('[data-trace]');
  if (b) openTrace(Number(b.getAttribute('data-trace')));
});
var cache = new Map();
function decode(i) {
  if (cache.has(i)) return cache.get(i);
  var bin = atob(D.blobs[i]);
  var bytes = new Uint8Array(bin.length);
  for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
  var p = new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'))).text().then(function (s) {
    var c = JSON.parse(s), ev = [], step = 0, cyc = 0;
    for (var j = 0; j < c.step.length; j++) {
      step += c.step[j]; cyc += c.cycle[j];
      ev.push({step: step, hart: c.hart[j], cycle: cyc, kind: D.kinds[c.kind[j]], text: c.texts[c.text[j]]});
    }
    return ev;
  });
  cache.set(i, p);
  return p;
}
var view = null;
function openTrace(i) {
  var t = D.traces[i];
  var panel = document.getElementById('viewer');
  panel.hidden = false;
  document.getElementById('viewer-title').textContent = t[0] + ': ' + t[6] + ', seed ' + t[7];
  decode(t[9]).then(function (events) {
    var c0 = events.length ? events[0].cycle : 0, c1 = events.length ? events[events.length - 1].cycle : 1;
    view = {t: t, events: events, lo: c0, hi: Math.max(c1, c0 + 1), c0: c0, c1: Math.max(c1, c0 + 1), mhz: D.frequencyMHz[t[1]], q: ''};
    document.getElementById('viewer-search').value = '';
    drawTrace();
    panel.scrollIntoView({block: 'start'});
  });
}
function zoom(f, at) {
  if (!view) return;
  var span = view.hi - view.lo, c = at === undefined ? view.lo + span / 2 : at;
  var ns = Math.max(4, Math.min(view.c1 - view.c0, span * f));
  var lo = c - (c - view.lo) * ns / span;
  lo = Math.max(view.c0, Math.min(lo, view.c1 - ns));
  view.lo = lo; view.hi = lo + ns;
  drawTrace();
}
document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
document.getElementById('zoom-reset').addEventListener('click', function () { if (view) { view.lo = view.c0; view.hi = view.c1; drawTrace(); } });
document.getElementById('viewer-close').addEventListener('click', function () { document.getElementById('viewer').hidden = true; });
document.getElementById('viewer-search').addEventListener('input', function (ev) { if (view) { view.q = ev.target.value.toLowerCase(); drawTrace(); } });
var pane = document.getElementById('viewer-svg'), drag = null;
function atCycle(clientX) {
  var b = pane.firstChild.getBoundingClientRect();
  return view.lo + ((clientX - b.left) / b.width * view.W - view.L) / (view.W - view.L - view.R) * (view.hi - view.lo);
}
pane.addEventListener('wheel', function (w) { if (!view) return; w.preventDefault(); zoom(w.deltaY < 0 ? 0.7 : 1.4, atCycle(w.clientX)); }, {passive: false});
pane.addEventListener('mousedown', function (m) { if (view) drag = {x: m.clientX, lo: view.lo}; });
pane.addEventListener('mousemove', function (m) {
  if (!drag || !view) return;
  var b = pane.firstChild.getBoundingClientRect(), span = view.hi - view.lo;
  var d = (m.clientX - drag.x) / b.width * view.W / (view.W - view.L - view.R) * span;
  var lo = Math.max(view.c0, Math.min(drag.lo - d, view.c1 - span));
  if (Math.abs(lo - view.lo) > span / 300) { view.lo = lo; view.hi = lo + span; drawTrace(); }
});
window.addEventListener('mouseup', function () { drag = null; });
function cycLabel(c) {
  var s = fmt(Math.round(c)) + ' cyc';
  return view.mhz ? s + ' / ' + fmt(c / view.mhz) + ' \u00b5s' : s;
}
function drawTrace() {
  var ev = view.events, host = document.getElementById('viewer-svg');
  var harts = Array.from(new Set(ev.map(function (e) { return e.hart; }))).sort(function (a, b) { return a - b; });
  var W = Math.max(600, host.clientWidth || 900), L = 56, R = 12, T = 8, LANE = 22, H = T + harts.length * LANE + 34;
  var span = view.hi - view.lo;
  function x(c) { return L + (c - view.lo) / span * (W - L - R); }
  var svg = sv('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'font-size': 11, 'font-family': 'sans-serif', 'class': 'timeline'});
  harts.forEach(function (h, i) {
    svg.appendChild(sv('rect', {x: L, y: T + i * LANE, width: W - L - R, height: LANE, fill: i % 2 ? '#fafafa' : '#f0f0f0'}));
    svg.appendChild(sv('text', {x: L - 6, y: T + i * LANE + 15, 'text-anchor': 'end'}, 'hart ' + h));
  });
  var lane = new Map(harts.map(function (h, i) { return [h, i]; }));
  var matches = 0;
  ev.forEach(function (e) {
    if (e.cycle < view.lo || e.cycle > view.hi) return;
    var hit = view.q !== '' && (e.text.toLowerCase().indexOf(view.q) >= 0 || e.kind.indexOf(view.q) >= 0);
    if (hit) matches++;
    var tall = e.kind === 'fault' || e.kind === 'map' || e.kind === 'outcome';
    var y = T + lane.get(e.hart) * LANE + (tall ? 2 : 6);
    var r = sv('rect', {x: x(e.cycle) - 1.5, y: y, width: 3, height: tall ? LANE - 4 : LANE - 12, fill: KIND_COLORS[e.kind] || '#666', 'class': 'ev' + (hit ? ' hit' : ''), opacity: view.q !== '' && !hit ? 0.25 : 1});
    var text = 'step ' + e.step + ', hart ' + e.hart + ', ' + cycLabel(e.cycle) + ': ' + e.kind + ': ' + e.text;
    r.addEventListener('mousemove', function (m) { showTip(m, text); });
    r.addEventListener('mouseleave', hideTip);
    svg.appendChild(r);
  });
  var ay = T + harts.length * LANE;
  for (var k = 0; k <= 4; k++) {
    var c = view.lo + span * k / 4, tx = x(c);
    svg.appendChild(sv('line', {x1: tx, x2: tx, y1: ay, y2: ay + 4, stroke: '#333'}));
    svg.appendChild(sv('text', {x: tx, y: ay + 16, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle'}, cycLabel(c)));
  }
  svg.appendChild(sv('text', {x: L, y: H - 3}, 'cycle axis (hart clock' + (view.mhz ? ', ' + view.mhz + ' MHz' : '; no frequency recorded, so no \u00b5s') + '); wheel or buttons zoom, drag pans'));
  view.W = W; view.L = L; view.R = R;
  host.replaceChildren(svg);
  document.getElementById('viewer-range').textContent = cycLabel(view.lo) + ' \u2013 ' + cycLabel(view.hi) + (view.q ? '; ' + matches + ' match' + (matches === 1 ? '' : 'es') + ' in view' : '');
  var list = el('table', {'class': 'events'});
  var h = el('tr');
  ['step', 'hart', 'cycle', 'kind', 'event'].forEach(function (s) { h.appendChild(el('th', {scope: 'col'}, s)); });
  var th = el('thead'); th.appendChild(h); list.appendChild(th);
  var tb = el('tbody');
  ev.forEach(function (e) {
    if (e.cycle < view.lo || e.cycle > view.hi) return;
    if (view.q && e.text.toLowerCase().indexOf(view.q) < 0 && e.kind.indexOf(view.q) < 0) return;
    var tr = el('tr');
    tr.appendChild(el('td', {'class': 'num'}, e.step));
    tr.appendChild(el('td', {'class': 'num'}, e.hart));
    tr.appendChild(el('td', {'class': 'num'}, cycLabel(e.cycle)));
    tr.appendChild(el('td', null, e.kind));
    tr.appendChild(el('td', null, e.text));
    tb.appendChild(tr);
  });
  list.appendChild(tb);
  document.getElementById('viewer-events').replaceChildren(list);
}
document.documentElement.setAttribute('data-ready', '1');
})();`;
