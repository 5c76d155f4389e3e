// The message browser: a partition from an offset, a timestamp or its end;
// key/value/headers as text, JSON or hex; a live tail that polls from the next
// offset; a form that produces a test record.
'use strict';
(function () {
  const S = window.Samsa, h = S.h;
  S.pages = S.pages || {};
  const TAIL_KEEP = 500;

  S.pages.messages = async function (page, _arg, params) {
    const topic = h('input', { list: 'topic-names', placeholder: 'topic', value: params.get('topic') || '', 'data-testid': 'browse-topic' });
    const partition = h('input', { type: 'number', min: 0, value: params.get('partition') || 0, 'data-testid': 'browse-partition' });
    const mode = h('select', { 'data-testid': 'browse-mode' },
      h('option', { value: 'latest' }, 'Newest records'), h('option', { value: 'offset' }, 'From offset'),
      h('option', { value: 'timestamp' }, 'From time'));
    const offset = h('input', { type: 'number', min: 0, value: 0, 'data-testid': 'browse-offset' });
    const time = h('input', { type: 'datetime-local', step: 1 });
    const limit = h('input', { type: 'number', min: 1, max: 500, value: 50 });
    const format = h('select', { 'data-testid': 'browse-format' },
      h('option', { value: 'text' }, 'Text'), h('option', { value: 'json' }, 'JSON'), h('option', { value: 'hex' }, 'Hex'));
    const tail = h('input', { type: 'checkbox', 'data-testid': 'live-tail' });
    const info = h('div', { class: 'muted' });
    const rows = h('tbody', {});
    const names = h('datalist', { id: 'topic-names' });
    let records = [];
    let next = 0;
    let tailer = null;

    const form = h('form', { class: 'inline', 'data-testid': 'browse-form' }, S.field('Topic', topic), S.field('Partition', partition),
      S.field('Start', mode), S.field('Offset', offset), S.field('Time (UTC)', time), S.field('Max records', limit),
      S.field('Show as', format), h('button', { type: 'submit' }, 'Load'),
      h('label', { class: 'check' }, tail, ' Live tail'), names);
    page.append(h('h1', {}, 'Messages'), S.card('Browse a partition', form, info,
      h('table', { 'data-testid': 'records' },
        h('thead', {}, h('tr', {}, ['Offset', 'Timestamp', 'Key', 'Value', 'Headers'].map((x) => h('th', {}, x)))), rows)),
    produceCard(topic, partition));

    S.api.get('/v1/topics?limit=1000').then((r) => names.replaceChildren(...r.topics.map((t) => h('option', { value: t.name }))))
      .catch(() => {});

    const draw = () => {
      const f = format.value;
      rows.replaceChildren(...records.map((r) => h('tr', {}, h('td', {}, r.offset), h('td', {}, S.fmtTime(r.timestamp)),
        h('td', { class: 'cell' }, S.render(r.key, f)), h('td', { class: 'cell' }, S.render(r.value, f)),
        h('td', { class: 'cell' }, r.headers.map((x) => h('div', {}, h('b', {}, x.key), ': ', S.render(x.value, f)))))));
    };
    format.addEventListener('change', draw);

    async function load(fromOffset) {
      const q = { partition: partition.value, limit: limit.value };
      if (fromOffset !== undefined) q.offset = fromOffset;
      else if (mode.value === 'offset') q.offset = offset.value;
      else if (mode.value === 'timestamp' && time.value) q.timestamp = Date.parse(time.value + 'Z');
      const r = await S.api.get('/v1/topics/' + encodeURIComponent(topic.value) + '/records?' + S.qs(q));
      if (!S.ok(r)) {
        const hint = r.error === 'NOT_LEADER_OR_FOLLOWER' ? ' — another broker leads this partition (see the topic page): open its console' : '';
        info.replaceChildren(h('span', { class: 'error' }, S.errText(r) + hint));
        return null;
      }
      info.textContent = `Partition ${r.partition}: log start ${S.fmtNum(r.log_start_offset)}, high watermark ${S.fmtNum(r.high_watermark)}`;
      next = r.next_offset;
      return r.records;
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!topic.value) return;
      history.replaceState(null, '', '#/messages?' + S.qs({ topic: topic.value, partition: partition.value }));
      const got = await load();
      if (got) { records = got; draw(); }
    });
    tail.addEventListener('change', () => {
      if (tailer) { tailer.stop(); tailer = null; }
      if (!tail.checked) return;
      tailer = S.every(1000, async () => {
        if (!topic.value) return;
        const got = await load(records.length ? next : undefined);
        if (!got) return;
        records = records.length ? records.concat(got) : got;
        if (records.length > TAIL_KEEP) records = records.slice(records.length - TAIL_KEEP);
        if (got.length || !rows.children.length) draw();
      });
    });
    if (topic.value) form.requestSubmit();
  };

  function produceCard(topic, partition) {
    const key = h('input', { placeholder: 'key (empty: null)', 'data-testid': 'produce-key' });
    const value = h('textarea', { rows: 2, placeholder: '{"hello": "world"}', 'data-testid': 'produce-value' });
    const headers = h('textarea', { rows: 2, placeholder: 'header=value lines', 'data-testid': 'produce-headers' });
    const out = h('div', { class: 'result', 'data-testid': 'produce-result' });
    const form = h('form', { class: 'inline', 'data-testid': 'produce-form' }, S.field('Key', key), S.field('Value', value),
      S.field('Headers', headers), h('button', { type: 'submit' }, 'Produce'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await S.api.post('/v1/topics/' + encodeURIComponent(topic.value) + '/records',
        { partition: partition.value, key: key.value, value: value.value, headers: headers.value });
      out.replaceChildren(S.ok(r) ? h('span', { class: 'okmsg' }, `Written to ${topic.value}-${r.partition} at offset ${r.offset}`)
        : h('span', { class: 'error' }, S.errText(r)));
    });
    return S.card('Produce a test record (to the partition above)', form);
  }
})();
