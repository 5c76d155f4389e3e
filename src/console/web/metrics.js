// Throughput and latency charts from the broker's Prometheus text (/metrics),
// polled every 2 s: rates are differences of the counters between polls.
'use strict';
(function () {
  const S = window.Samsa, h = S.h;
  S.pages = S.pages || {};
  const POLL_MS = 2000;

  // name{labels} value lines -> [{name, labels, value}]
  S.parsePrometheus = function (text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      out.push({ name: m[1], labels, value: Number(m[4]) });
    }
    return out;
  };

  function totals(samples) {
    const sum = (name, pred) => samples.filter((s) => s.name === name && (!pred || pred(s.labels))).reduce((a, s) => a + s.value, 0);
    const api = (req) => (l) => l.request === req;
    return {
      bytesIn: sum('kafka_server_brokertopicmetrics_bytesin_total'),
      bytesOut: sum('kafka_server_brokertopicmetrics_bytesout_total'),
      messagesIn: sum('kafka_server_brokertopicmetrics_messagesin_total'),
      requests: sum('kafka_network_requestmetrics_requests_total'),
      produceSum: sum('kafka_network_requestmetrics_totaltimems_sum', api('Produce')),
      produceCount: sum('kafka_network_requestmetrics_totaltimems_count', api('Produce')),
      fetchSum: sum('kafka_network_requestmetrics_totaltimems_sum', api('Fetch')),
      fetchCount: sum('kafka_network_requestmetrics_totaltimems_count', api('Fetch')),
    };
  }

  // Kept across page changes so the charts show what was polled before.
  const hist = { bytesIn: new S.History(), bytesOut: new S.History(), messagesIn: new S.History(),
    requests: new S.History(), produceMs: new S.History(), fetchMs: new S.History() };
  let last = null;

  S.pages.metrics = async function (page) {
    const c1 = h('canvas', { class: 'chart', 'data-testid': 'chart-bytes' });
    const c2 = h('canvas', { class: 'chart', 'data-testid': 'chart-messages' });
    const c3 = h('canvas', { class: 'chart', 'data-testid': 'chart-latency' });
    const now = h('div', { class: 'stats' });
    page.append(h('h1', {}, 'Throughput'), h('p', { class: 'muted' }, 'From this broker\'s /metrics every 2 s (the series are listed in docs/METRICS.md).'),
      now, S.card('Bytes per second', c1), S.card('Messages in and requests per second', c2),
      S.card('Average request time (ms)', c3));
    S.every(POLL_MS, async () => {
      const resp = await fetch('/metrics');
      const cur = totals(S.parsePrometheus(await resp.text()));
      const t = Date.now();
      if (last) {
        const dt = Math.max(0.001, (t - last.t) / 1000);
        const rate = (k) => Math.max(0, (cur[k] - last.v[k]) / dt);
        const avg = (s, c) => { const n = cur[c] - last.v[c]; return n > 0 ? (cur[s] - last.v[s]) / n : 0; };
        hist.bytesIn.push(t, rate('bytesIn'));
        hist.bytesOut.push(t, rate('bytesOut'));
        hist.messagesIn.push(t, rate('messagesIn'));
        hist.requests.push(t, rate('requests'));
        hist.produceMs.push(t, avg('produceSum', 'produceCount'));
        hist.fetchMs.push(t, avg('fetchSum', 'fetchCount'));
        now.replaceChildren(stat('Bytes in/s', S.fmtBytes(rate('bytesIn'))), stat('Bytes out/s', S.fmtBytes(rate('bytesOut'))),
          stat('Messages in/s', S.fmtRate(rate('messagesIn'))), stat('Requests/s', S.fmtRate(rate('requests'))));
      }
      last = { t, v: cur };
      S.drawChart(c1, [{ name: 'in', points: hist.bytesIn.points }, { name: 'out', points: hist.bytesOut.points }], { unit: S.fmtBytes });
      S.drawChart(c2, [{ name: 'messages in', points: hist.messagesIn.points }, { name: 'requests', points: hist.requests.points }]);
      S.drawChart(c3, [{ name: 'Produce', points: hist.produceMs.points }, { name: 'Fetch', points: hist.fetchMs.points }]);
    });
  };

  function stat(label, value) {
    return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, String(value)));
  }
})();
