// Cluster overview: brokers (rack, controller), the metadata quorum, disk per log dir.
'use strict';
(function () {
  const S = window.Samsa, h = S.h;
  S.pages = S.pages || {};

  S.pages.overview = async function (page) {
    page.appendChild(h('h1', {}, 'Cluster'));
    const body = h('div', {});
    page.appendChild(body);
    S.every(5000, async () => {
      const [c, q] = await Promise.all([S.api.get('/v1/cluster'), S.api.get('/v1/quorum').catch((e) => ({ error: e.message }))]);
      body.replaceChildren(
        h('div', { class: 'stats' },
          stat('Cluster id', c.cluster_id), stat('This node', c.node_id), stat('Active controller', c.controller_id),
          stat('Brokers', c.brokers.length), stat('Topics', S.fmtNum(c.topics)), stat('Partitions', S.fmtNum(c.partitions)),
          stat('Ready', c.ready ? 'yes' : 'no')),
        S.card('Brokers', S.table(['Id', 'Host', 'Port', 'Rack', 'Role'],
          c.brokers.map((b) => h('tr', {}, h('td', {}, b.id), h('td', {}, b.host), h('td', {}, b.port),
            h('td', {}, b.rack === null ? h('span', { class: 'null' }, 'none') : b.rack),
            h('td', {}, b.id === c.controller_id ? S.badge('controller') : ''))),
          { 'data-testid': 'brokers' })),
        S.card('Metadata quorum', quorum(q, c.controller_id)),
        S.card('Log directories (this broker)', S.table(['Path', 'State', 'Used', 'Free', 'Total', ''],
          c.log_dirs.map((d) => {
            const used = d.total_bytes ? d.total_bytes - d.usable_bytes : null;
            const bar = h('div', { class: 'bar' }, h('div', {}));
            if (used !== null) bar.firstChild.style.width = ((100 * used) / d.total_bytes).toFixed(1) + '%';
            return h('tr', {}, h('td', {}, d.path), h('td', {}, S.badge(d.online ? 'online' : 'offline')),
              h('td', {}, S.fmtBytes(used)), h('td', {}, S.fmtBytes(d.usable_bytes)), h('td', {}, S.fmtBytes(d.total_bytes)),
              h('td', { class: 'barcell' }, bar));
          }))));
    });
  };

  function stat(label, value) {
    return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, String(value)));
  }

  function quorum(q, controller) {
    if (q.error === 'NOT_LEADER_OR_FOLLOWER')  // Kafka's DescribeQuorum is answered by the quorum's leader
      return h('p', { class: 'muted' }, `This node follows the metadata quorum; its leader (node ${controller}, the active controller) describes it: open that node's console.`);
    if (!S.ok(q) || q.leader_id === undefined) return h('p', { class: 'error' }, S.errText(q));
    const rows = (list, role) => list.map((r) => h('tr', {}, h('td', {}, r.id),
      h('td', {}, r.id === q.leader_id ? S.badge('leader') : role), h('td', {}, S.fmtNum(r.log_end_offset)),
      h('td', {}, S.fmtNum(r.lag)), h('td', {}, S.fmtTime(r.last_caught_up_timestamp))));
    return h('div', {},
      h('p', {}, 'Leader ', h('b', {}, q.leader_id), ', epoch ', q.leader_epoch, ', high watermark ', S.fmtNum(q.high_watermark)),
      S.table(['Node', 'Role', 'Log end offset', 'Lag', 'Last caught up'],
        rows(q.voters, 'voter').concat(rows(q.observers, 'observer'))));
  }
})();
