// Topics: the list (search and paging on the broker, so 10,000 partitions stay
// fast), create; one topic's partitions (paged here), configs with their source,
// alter a config, add partitions, delete.
'use strict';
(function () {
  const S = window.Samsa, h = S.h;
  S.pages = S.pages || {};
  const PAGE = 50;
  const PARTITION_PAGE = 100;

  S.pages.topics = async function (page, _arg, params) {
    let offset = Number(params.get('offset') || 0);
    const search = h('input', { type: 'search', placeholder: 'Search topics', 'data-testid': 'topic-search', value: params.get('search') || '' });
    const list = h('div', {});
    const pager = h('div', { class: 'pager' });
    page.append(h('h1', {}, 'Topics'), createForm(), S.card('All topics', h('div', { class: 'toolbar' }, search), list, pager));

    async function load() {
      const r = await S.api.get('/v1/topics?' + S.qs({ search: search.value, offset, limit: PAGE }));
      list.replaceChildren(S.table(['Name', 'Partitions', 'Replication', 'Size', 'Messages'],
        r.topics.map((t) => h('tr', {},
          h('td', {}, h('a', { href: '#/topic/' + encodeURIComponent(t.name) }, t.name), t.internal ? ' ' : '', t.internal ? S.badge('internal') : ''),
          h('td', {}, S.fmtNum(t.partitions)), h('td', {}, t.replication_factor), h('td', {}, S.fmtBytes(t.size_bytes)),
          h('td', {}, S.fmtNum(t.messages)))), { 'data-testid': 'topic-list' }));
      pager.replaceChildren(
        h('button', { disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, '‹ Previous'),
        h('span', {}, r.total ? `${offset + 1}–${Math.min(offset + PAGE, r.total)} of ${S.fmtNum(r.total)}` : 'no topics'),
        h('button', { disabled: offset + PAGE >= r.total, onclick: () => { offset += PAGE; load(); } }, 'Next ›'));
    }
    let debounce;
    search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { offset = 0; load(); }, 250); });
    await load();
  };

  function createForm() {
    const name = h('input', { name: 'name', required: true, placeholder: 'orders', 'data-testid': 'create-name' });
    const parts = h('input', { name: 'partitions', type: 'number', min: 1, value: 3, 'data-testid': 'create-partitions' });
    const rf = h('input', { name: 'replication_factor', type: 'number', min: 1, value: 1 });
    const configs = h('textarea', { name: 'configs', rows: 2, placeholder: 'retention.ms=604800000\ncleanup.policy=compact' });
    const out = h('div', { class: 'result' });
    const form = h('form', { class: 'inline', 'data-testid': 'create-topic' },
      S.field('Name', name), S.field('Partitions', parts), S.field('Replication factor', rf), S.field('Configs (key=value lines)', configs),
      h('button', { type: 'submit' }, 'Create topic'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await S.api.post('/v1/topics', { name: name.value, partitions: parts.value, replication_factor: rf.value, configs: configs.value });
      if (S.ok(r)) { S.toast(`Created topic ${r.name}`); S.go('#/topic/' + encodeURIComponent(r.name)); }
      else out.replaceChildren(h('span', { class: 'error' }, S.errText(r)));
    });
    return h('details', { class: 'card' }, h('summary', {}, 'Create a topic'), form);
  }

  S.pages.topic = async function (page, name) {
    const t = await S.api.get('/v1/topics/' + encodeURIComponent(name));
    const head = h('div', { class: 'titlebar' }, h('h1', {}, name, t.internal ? ' ' : '', t.internal ? S.badge('internal') : ''),
      h('a', { class: 'button', href: '#/messages?' + S.qs({ topic: name, partition: 0 }) }, 'Browse messages'));
    const partSection = h('div', {});
    const configSection = h('div', {});
    page.append(head, S.card(`Partitions (${t.partitions.length})`, partSection), S.card('Configs', configSection), actions(name, t));
    renderPartitions(partSection, t.partitions);
    await renderConfigs(configSection, name);
  };

  function renderPartitions(el, partitions) {
    let offset = 0;
    const filter = h('input', { type: 'search', placeholder: 'Partition, leader or replica id' });
    const body = h('div', {});
    const pager = h('div', { class: 'pager' });
    const draw = () => {
      const f = filter.value.trim();
      const shown = f === '' ? partitions : partitions.filter((p) => String(p.partition) === f || String(p.leader) === f || p.replicas.includes(Number(f)));
      const slice = shown.slice(offset, offset + PARTITION_PAGE);
      body.replaceChildren(S.table(['Partition', 'Leader', 'Replicas', 'ISR', 'Log start', 'High watermark', 'Size', 'Segments', ''],
        slice.map((p) => h('tr', {}, h('td', {}, p.partition), h('td', {}, p.leader), h('td', {}, p.replicas.join(', ')),
          h('td', { class: p.isr.length < p.replicas.length ? 'warn' : '' }, p.isr.join(', ')),
          h('td', {}, p.log_start_offset < 0 ? '–' : S.fmtNum(p.log_start_offset)),
          h('td', {}, p.high_watermark < 0 ? '–' : S.fmtNum(p.high_watermark)), h('td', {}, S.fmtBytes(p.size_bytes)),
          h('td', {}, p.segments), h('td', {}, p.online ? '' : S.badge('not here')))), { 'data-testid': 'partitions' }));
      pager.replaceChildren(
        h('button', { disabled: offset === 0, onclick: () => { offset -= PARTITION_PAGE; draw(); } }, '‹ Previous'),
        h('span', {}, shown.length ? `${offset + 1}–${Math.min(offset + PARTITION_PAGE, shown.length)} of ${S.fmtNum(shown.length)}` : 'none'),
        h('button', { disabled: offset + PARTITION_PAGE >= shown.length, onclick: () => { offset += PARTITION_PAGE; draw(); } }, 'Next ›'));
    };
    filter.addEventListener('input', () => { offset = 0; draw(); });
    el.append(h('div', { class: 'toolbar' }, filter), body, pager);
    draw();
  }

  async function renderConfigs(el, name) {
    const r = await S.api.get('/v1/topics/' + encodeURIComponent(name) + '/configs');
    if (!S.ok(r)) { el.replaceChildren(h('p', { class: 'error' }, S.errText(r))); return; }
    const key = h('input', { list: 'config-names', placeholder: 'retention.ms', 'data-testid': 'config-key' });
    const value = h('input', { placeholder: 'value', 'data-testid': 'config-value' });
    const out = h('span', { class: 'result' });
    const alter = async (fields) => {
      const res = await S.api.post('/v1/topics/' + encodeURIComponent(name) + '/configs', fields);
      if (S.ok(res)) { S.toast('Config changed'); await renderConfigs(el, name); }
      else out.replaceChildren(h('span', { class: 'error' }, S.errText(res)));
    };
    const form = h('form', { class: 'inline', 'data-testid': 'alter-config' }, S.field('Config', key), S.field('New value', value),
      h('button', { type: 'submit' }, 'Set'), out,
      h('datalist', { id: 'config-names' }, r.configs.map((c) => h('option', { value: c.name }))));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); alter({ set: key.value + '=' + value.value }); });
    el.replaceChildren(form, S.table(['Name', 'Value', 'Source', ''],
      r.configs.map((c) => h('tr', { class: c.source === 'DYNAMIC_TOPIC_CONFIG' ? 'override' : '', 'data-config': c.name },
        h('td', {}, c.name), h('td', {}, c.sensitive ? '(sensitive)' : c.value === null ? h('span', { class: 'null' }, 'null') : c.value),
        h('td', {}, h('span', { class: 'source' }, c.source)),
        h('td', {}, c.source === 'DYNAMIC_TOPIC_CONFIG'
          ? h('button', { class: 'small', onclick: () => alter({ delete: c.name }) }, 'Reset to default') : ''))),
      { 'data-testid': 'configs' }));
  }

  function actions(name, t) {
    const count = h('input', { type: 'number', min: t.partitions.length + 1, value: t.partitions.length + 1 });
    const out = h('span', { class: 'result' });
    const add = h('form', { class: 'inline' }, S.field('New partition count', count), h('button', { type: 'submit' }, 'Add partitions'), out);
    add.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await S.api.post('/v1/topics/' + encodeURIComponent(name) + '/partitions', { count: count.value });
      if (S.ok(r)) { S.toast('Partitions added'); S.go('#/topic/' + encodeURIComponent(name)); }
      else out.replaceChildren(h('span', { class: 'error' }, S.errText(r)));
    });
    const confirmName = h('input', { placeholder: 'type the topic name to confirm', 'data-testid': 'delete-confirm' });
    const delOut = h('span', { class: 'result' });
    const del = h('form', { class: 'inline danger' }, S.field('Delete this topic', confirmName),
      h('button', { type: 'submit', class: 'danger' }, 'Delete topic'), delOut);
    del.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (confirmName.value !== name) { delOut.replaceChildren(h('span', { class: 'error' }, 'the name does not match')); return; }
      const r = await S.api.del('/v1/topics/' + encodeURIComponent(name));
      if (S.ok(r)) { S.toast(`Deleted topic ${name}`); S.go('#/topics'); }
      else delOut.replaceChildren(h('span', { class: 'error' }, S.errText(r)));
    });
    return S.card('Change', add, del);
  }
})();
