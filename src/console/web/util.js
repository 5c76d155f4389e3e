// Shared helpers of the console: DOM building, the JSON API, formatting, and
// timers that stop when the page changes. Plain modern JS, no libraries.
'use strict';
const S = (window.Samsa = {});

// h('div', {class: 'x', onclick: fn}, child, 'text', [more children])
S.h = function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  const add = (c) => {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
};
const h = S.h;

// The JSON API of the broker. Kafka errors come back as 200 with an "error"
// member; HTTP errors (bad input, no login) as a thrown Error.
S.api = {
  async call(method, path, fields) {
    // The header marks a request of the console's own pages (the broker refuses changes without it: CSRF).
    const init = { method, headers: { 'X-Samsa-Console': '1' } };
    if (fields) {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = Object.entries(fields)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v))
        .join('&');
    }
    const resp = await fetch(path, init);
    const text = await resp.text();
    let body;
    try { body = JSON.parse(text); } catch (e) { body = { error: 'HTTP ' + resp.status, message: text }; }
    if (!resp.ok) throw new Error(body.message || body.error || ('HTTP ' + resp.status));
    return body;
  },
  get(path) { return this.call('GET', path); },
  post(path, fields) { return this.call('POST', path, fields || {}); },
  del(path) { return this.call('DELETE', path); },
};

S.qs = (params) => Object.entries(params)
  .filter(([, v]) => v !== undefined && v !== null && v !== '')
  .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');

S.fmtBytes = function (n) {
  if (n === null || n === undefined || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
};
S.fmtNum = (n) => (n === null || n === undefined) ? '–' : Number(n).toLocaleString('en-US');
S.fmtRate = (n) => n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);
S.fmtTime = (ms) => (ms === null || ms === undefined || ms < 0) ? '–' : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

// Kafka's error name as a badge ("NONE" is success).
S.ok = (r) => r && (r.error === 'NONE' || r.error === undefined);
S.errText = (r) => r.error + (r.message ? ': ' + r.message : '');

S.toast = function (text, kind) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = kind || 'info';
  t.hidden = false;
  clearTimeout(S.toast.timer);
  S.toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
};

// Timers of the current page; app.js clears them on navigation.
S.timers = [];
S.every = function (ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { S.toast(e.message, 'error'); }
    if (!stopped) handle.id = setTimeout(tick, ms);
  };
  const handle = { id: 0, stop() { stopped = true; clearTimeout(this.id); } };
  S.timers.push(handle);
  tick();
  return handle;
};

// Key/value bytes (base64 from the API) shown as text, JSON or hex.
S.b64bytes = function (b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
S.render = function (b64, format) {
  if (b64 === null || b64 === undefined) return h('span', { class: 'null' }, 'null');
  const bytes = S.b64bytes(b64);
  if (format === 'hex') {
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
    return h('code', { class: 'hex' }, hex || '(empty)');
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  if (format === 'json') {
    try { return h('pre', { class: 'json' }, JSON.stringify(JSON.parse(text), null, 2)); }
    catch (e) { return h('span', { class: 'notjson', title: 'not JSON' }, text); }
  }
  return h('span', { class: 'text' }, text);
};

S.badge = (status) => h('span', { class: 'badge st-' + String(status).toLowerCase() }, status);

S.table = function (headers, rows, attrs) {
  return h('table', attrs || {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows));
};

S.card = (title, ...children) => h('section', { class: 'card' }, h('h2', {}, title), children);
S.field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
