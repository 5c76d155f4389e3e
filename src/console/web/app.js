// The router: #/page/arg?query -> S.pages[page](container, arg, params).
'use strict';
(function () {
  const S = window.Samsa;

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '') || 'overview';
    const [path, query] = raw.split('?');
    const parts = path.split('/');
    return { page: parts[0], arg: parts.slice(1).map(decodeURIComponent).join('/'), params: new URLSearchParams(query || '') };
  }

  async function route() {
    S.timers.forEach((t) => t.stop());
    S.timers = [];
    const { page, arg, params } = parseHash();
    const render = S.pages[page] || S.pages.overview;
    document.querySelectorAll('#nav a').forEach((a) => {
      const p = a.dataset.page;
      a.classList.toggle('active', p === page || (p === 'topics' && page === 'topic') || (p === 'groups' && page === 'group'));
    });
    const container = document.getElementById('page');
    container.replaceChildren();
    container.dataset.page = page;
    try {
      await render(container, arg, params);
    } catch (e) {
      container.appendChild(S.h('p', { class: 'error' }, e.message));
    }
  }

  S.go = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };

  window.addEventListener('hashchange', route);
  window.addEventListener('DOMContentLoaded', async () => {
    route();
    try {
      const who = await S.api.get('/v1/whoami');
      document.getElementById('who').textContent = who.principal;
    } catch (e) { /* shown by the page itself */ }
  });
})();
