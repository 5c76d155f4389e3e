// Consumer groups: the list with the broker's lag and Burrow-style status; one
// group's members, assignments, lag per partition, a lag chart from polled
// data, and an offset reset with a preview before it is applied.
'use strict';
(function () {
  const S = window.Samsa, h = S.h;
  S.pages = S.pages || {};
  // Total lag over time per group, kept while the console is open (polled data).
  const history = new Map();
  const record = (group, lag, t) => {
    if (!history.has(group)) history.set(group, new S.History(300));
    history.get(group).push(t, lag);
  };

  S.pages.groups = async function (page) {
    const body = h('div', {});
    page.append(h('h1', {}, 'Consumer groups'),
      h('p', { class: 'muted' }, 'Lag is computed by the broker: committed offset against the high watermark. ',
        'Status follows Burrow\'s rules: OK, WARN (falling behind), STALL (committing without progress while lag grows), STOP (no commits), ERR.'),
      S.card('Groups', body));
    S.every(3000, async () => {
      const r = await S.api.get('/v1/groups?limit=1000');
      const now = Date.now();
      r.groups.forEach((g) => record(g.group, g.total_lag, now));
      body.replaceChildren(r.groups.length === 0 ? h('p', { class: 'muted' }, 'No group has committed offsets yet.')
        : S.table(['Group', 'State', 'Members', 'Lag status', 'Total lag', 'Partitions'],
          r.groups.map((g) => h('tr', {}, h('td', {}, h('a', { href: '#/group/' + encodeURIComponent(g.group) }, g.group)),
            h('td', {}, g.state), h('td', {}, g.members), h('td', {}, S.badge(g.lag_status)), h('td', {}, S.fmtNum(g.total_lag)),
            h('td', {}, g.partitions.length))), { 'data-testid': 'group-list' }));
    });
  };

  S.pages.group = async function (page, group) {
    const summary = h('div', {});
    const members = h('div', {});
    const lagTable = h('div', {});
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'lag-chart' });
    page.append(h('h1', {}, group), summary, S.card('Lag over time (total)', canvas), S.card('Lag per partition', lagTable),
      S.card('Members and assignments', members), resetCard(group));
    S.every(2000, async () => {
      const g = await S.api.get('/v1/group?' + S.qs({ group }));
      if (!S.ok(g)) { summary.replaceChildren(h('p', { class: 'error' }, S.errText(g))); return; }
      record(group, g.total_lag, Date.now());
      summary.replaceChildren(h('div', { class: 'stats' }, stat('State', g.state), stat('Protocol', g.protocol || '–'),
        stat('Members', g.members.length), h('div', { class: 'stat' }, h('div', { class: 'label' }, 'Lag status'),
          h('div', { class: 'value', 'data-testid': 'group-status' }, S.badge(g.lag_status))),
        h('div', { class: 'stat' }, h('div', { class: 'label' }, 'Total lag'), h('div', { class: 'value', 'data-testid': 'group-total-lag' }, S.fmtNum(g.total_lag)))));
      lagTable.replaceChildren(S.table(['Topic', 'Partition', 'Committed', 'High watermark', 'Lag', 'Status'],
        g.partitions.map((p) => h('tr', {}, h('td', {}, p.topic), h('td', {}, p.partition), h('td', {}, S.fmtNum(p.committed_offset)),
          h('td', {}, S.fmtNum(p.high_watermark)), h('td', {}, S.fmtNum(p.lag)), h('td', {}, S.badge(p.status)))),
        { 'data-testid': 'group-lag' }));
      members.replaceChildren(g.members.length === 0 ? h('p', { class: 'muted' }, 'No active members.')
        : S.table(['Member', 'Client id', 'Host', 'Assignment'], g.members.map((m) => h('tr', {}, h('td', {}, m.member_id),
          h('td', {}, m.client_id), h('td', {}, m.client_host),
          h('td', {}, m.assignment.map((a) => h('div', {}, a.topic + ': ' + a.partitions.join(', '))))))));
      S.drawChart(canvas, [{ name: 'total lag (records)', points: history.get(group).points }], { unit: (v) => S.fmtNum(Math.round(v)) });
    });
  };

  function stat(label, value) {
    return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, String(value)));
  }

  function resetCard(group) {
    const topic = h('input', { list: 'reset-topics', placeholder: 'topic', 'data-testid': 'reset-topic' });
    const to = h('select', { 'data-testid': 'reset-to' }, h('option', { value: 'earliest' }, 'Earliest'),
      h('option', { value: 'latest' }, 'Latest'), h('option', { value: 'offset' }, 'Offset'));
    const offset = h('input', { type: 'number', min: 0, value: 0, 'data-testid': 'reset-offset' });
    const apply = h('button', { type: 'button', disabled: true, class: 'danger', 'data-testid': 'reset-apply' }, 'Apply reset');
    const out = h('div', { 'data-testid': 'reset-preview' });
    const names = h('datalist', { id: 'reset-topics' });
    S.api.get('/v1/group?' + S.qs({ group })).then((g) => {
      const topics = [...new Set((g.partitions || []).map((p) => p.topic))];
      names.replaceChildren(...topics.map((t) => h('option', { value: t })));
      if (!topic.value && topics.length) topic.value = topics[0];
    }).catch(() => {});
    const fields = (doApply) => ({ group, topic: topic.value, to: to.value, offset: offset.value, apply: doApply ? 'true' : 'false' });
    const show = (r) => {
      const rows = r.partitions.map((p) => h('tr', {}, h('td', {}, p.partition), h('td', {}, S.fmtNum(p.current_offset)),
        h('td', {}, S.fmtNum(p.new_offset)), h('td', {}, S.fmtNum(p.log_start_offset) + ' – ' + S.fmtNum(p.log_end_offset)),
        h('td', {}, p.error ? S.badge(p.error) : '')));
      const note = r.inactive ? h('p', { class: 'muted' }, 'The group is ' + r.state + ': the reset can be applied.')
        : h('p', { class: 'error' }, `The group is ${r.state}: stop its consumers first (Kafka resets only inactive groups).`);
      out.replaceChildren(note, S.table(['Partition', 'Current offset', 'New offset', 'Log range', ''], rows));
    };
    const preview = h('form', { class: 'inline', 'data-testid': 'reset-form' }, S.field('Topic', topic), S.field('Reset to', to),
      S.field('Offset', offset), h('button', { type: 'submit', 'data-testid': 'reset-preview-button' }, 'Preview'), apply, names);
    preview.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await S.api.post('/v1/group/offsets', fields(false));
      show(r);
      apply.disabled = !r.inactive;
    });
    apply.addEventListener('click', async () => {
      const r = await S.api.post('/v1/group/offsets', fields(true));
      apply.disabled = true;
      const failed = (r.results || []).filter((x) => !S.ok(x));
      if (r.applied && failed.length === 0) {
        S.toast('Offsets reset');
        out.replaceChildren(h('p', { class: 'okmsg', 'data-testid': 'reset-done' }, `Offsets of ${group} on ${r.topic} reset to ${r.to}.`));
      } else {
        out.replaceChildren(h('p', { class: 'error' }, r.message || failed.map((x) => `partition ${x.partition}: ${x.error}`).join('; ')));
      }
    });
    return S.card('Reset offsets', h('p', { class: 'muted' }, 'Preview shows each partition\'s new offset; nothing changes until you apply.'), preview, out);
  }
})();
