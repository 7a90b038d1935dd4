// The dashboard's script, inlined into the page by dashboard.ts (see there
// for how one page shows the whole cluster). It builds the page with DOM
// calls and textContent only, never innerHTML with data, so a node id or an
// event message cannot inject markup.

(() => {
  // Filled in by dashboard.ts from DASHBOARD_POLL_MS and DASHBOARD_FETCH_TIMEOUT_MS.
  const POLL_MS = Number(document.documentElement.dataset.pollMs);
  const TIMEOUT_MS = Number(document.documentElement.dataset.fetchTimeoutMs);
  const CHART_SECONDS = 60;
  const LOCAL_EVENTS_MAX = 100;
  /** base URL -> { base, id, state, reachable, inFlight } */
  const endpoints = new Map();
  const localEvents = [];
  const svgNs = 'http://www.w3.org/2000/svg';
  // Concatenated, not a template: the page's test finds every URL it contains by a pattern that stops at quotes.
  const HTTP_SCHEME = 'http://';

  function addEndpoint(base) {
    if (!endpoints.has(base)) endpoints.set(base, { base: base, id: null, state: null, reachable: null, inFlight: false });
  }
  addEndpoint(location.origin);
  const extra = new URLSearchParams(location.search).get('nodes');
  if (extra)
    extra.split(',').forEach((a) => {
      a = a.trim();
      if (a) addEndpoint(a.indexOf('://') < 0 ? HTTP_SCHEME + a : a);
    });

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (const c of children) {
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function localEvent(node, kind, message) {
    localEvents.push({ atMs: Date.now(), node: node, kind: kind, message: message, seq: 0, term: null });
    if (localEvents.length > LOCAL_EVENTS_MAX) localEvents.shift();
  }

  function poll(ep) {
    if (ep.inFlight) return;
    ep.inFlight = true;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      ctl.abort();
    }, TIMEOUT_MS);
    fetch(`${ep.base}/dashboard/state`, { signal: ctl.signal, cache: 'no-store' })
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      })
      .then((state) => {
        if (ep.reachable === false) localEvent(state.id, 'reachable', 'answers again');
        ep.state = state;
        ep.id = state.id;
        ep.reachable = true;
        for (const id in state.peerHttp) addEndpoint(HTTP_SCHEME + state.peerHttp[id]);
      })
      .catch(() => {
        if (ep.reachable !== false && ep.id !== null) localEvent(ep.id, 'unreachable', `does not answer ${ep.base}`);
        ep.reachable = false;
      })
      .finally(() => {
        clearTimeout(timer);
        ep.inFlight = false;
        render();
      });
  }

  /** One card per node id: endpoints that turned out to be the same node collapse into one. */
  function nodeList() {
    const byId = new Map();
    endpoints.forEach((ep) => {
      if (ep.id === null) return;
      const had = byId.get(ep.id);
      if (had === undefined || (!had.reachable && ep.reachable)) byId.set(ep.id, ep);
    });
    return Array.from(byId.values()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The leader: a reachable node that says it leads; if two do (a deposed one not yet told), the higher term. */
  function leaderOf(list) {
    let best = null;
    list.forEach((ep) => {
      if (!ep.reachable || ep.state.status.role !== 'leader') return;
      if (best === null || ep.state.status.term > best.state.status.term) best = ep;
    });
    return best;
  }

  function dd(label, value, cls) {
    return [el('dt', {}, label), el('dd', cls ? { class: cls } : {}, value === null || value === undefined ? '–' : value)];
  }

  function render() {
    const list = nodeList();
    const leader = leaderOf(list);
    const nodes = document.getElementById('nodes');
    nodes.replaceChildren();
    list.forEach((ep) => {
      const s = ep.state.status;
      // A learner (membership, chapter 5) follows without a vote: its badge says so.
      const role = !ep.reachable ? 'unreachable' : s.membership === 'learner' ? 'learner' : s.role;
      const isLeader = leader !== null && ep === leader;
      let lag = null;
      if (isLeader) lag = 0;
      else if (leader !== null)
        leader.state.status.peers.forEach((p) => {
          if (p.id === ep.id) lag = p.lag;
        });
      const health = !ep.reachable ? 'unreachable' : ep.state.ready ? 'healthy' : 'not ready';
      const items = [].concat(
        dd('term', s.term),
        dd('commit', s.commitIndex),
        dd('applied', s.appliedIndex),
        dd('lag', lag),
        dd('heartbeat', s.lastContactMs === null || s.lastContactMs === undefined ? null : `${s.lastContactMs} ms ago`),
        dd('health', health, `health-${health.replace(' ', '-')}`),
        dd('leader', s.leader),
        dd('keys', s.keys),
        dd(
          'config',
          s.confIndex === undefined ? null : `index ${s.confIndex}, ${s.voters.length} voters, ${s.learners.length} learners`,
        ),
        dd('http', ep.state.httpAddress),
        dd('pid', ep.state.pid),
      );
      const dl = el('dl', {});
      items.forEach((i) => {
        dl.appendChild(i);
      });
      nodes.appendChild(
        el(
          'div',
          {
            class: 'card',
            'data-node': ep.id,
            'data-role': role,
            'data-leader': String(isLeader),
            'data-health': health,
            'data-term': String(s.term),
          },
          el('h2', {}, ep.id, el('span', { class: `badge ${role}` }, role)),
          dl,
        ),
      );
    });
    const reachable = list.filter((ep) => ep.reachable).length;
    document.getElementById('summary').textContent = `${list.length} nodes, ${reachable} reachable`;
    const leaderEl = document.getElementById('leader');
    leaderEl.setAttribute('data-leader-id', leader === null ? '' : leader.id);
    leaderEl.textContent = leader === null ? 'leader: none' : `leader: ${leader.id} (term ${leader.state.status.term})`;
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    renderCharts(list);
    renderEvents(list);
  }

  function renderCharts(list) {
    const now = Math.floor(Date.now() / 1000);
    const ops = new Map(),
      p50 = new Map(),
      p99 = new Map();
    // An unreachable node's last known points stay: the chart shows its traffic up to when it went away.
    list.forEach((ep) => {
      ep.state.series.forEach((pt) => {
        const sec = Math.round(pt.atMs / 1000);
        if (sec <= now - CHART_SECONDS) return;
        ops.set(sec, (ops.get(sec) || 0) + pt.opsPerSec);
        if (pt.p50Ms !== null) p50.set(sec, Math.max(p50.get(sec) || 0, pt.p50Ms));
        if (pt.p99Ms !== null) p99.set(sec, Math.max(p99.get(sec) || 0, pt.p99Ms));
      });
    });
    drawChart(document.getElementById('ops'), now, [{ points: ops, color: '#58a6ff' }], '/s');
    drawChart(
      document.getElementById('latency'),
      now,
      [
        { points: p50, color: '#3fb950' },
        { points: p99, color: '#d29922' },
      ],
      ' ms',
    );
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(svgNs, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function drawChart(root, now, lines, unit) {
    const W = 600,
      H = 160,
      PAD = 18;
    let max = 0;
    lines.forEach((l) => {
      l.points.forEach((v) => {
        if (v > max) max = v;
      });
    });
    const top = max > 0 ? max * 1.1 : 1;
    root.replaceChildren();
    root.setAttribute('data-max', String(max));
    for (let g = 0; g <= 4; g++) {
      const y = PAD + ((H - 2 * PAD) * g) / 4;
      root.appendChild(svg('line', { x1: 0, x2: W, y1: y, y2: y, stroke: '#2a3440', 'stroke-width': 1 }));
    }
    const label = svg('text', { x: 4, y: 13, fill: '#8a96a3', 'font-size': 12 });
    label.textContent = `max ${Math.round(max * 100) / 100}${unit}, last ${CHART_SECONDS} s`;
    root.appendChild(label);
    lines.forEach((l) => {
      const pts = [];
      for (let sec = now - CHART_SECONDS + 1; sec <= now; sec++) {
        if (!l.points.has(sec)) continue;
        const x = ((sec - (now - CHART_SECONDS)) / CHART_SECONDS) * W;
        const yv = H - PAD - (l.points.get(sec) / top) * (H - 2 * PAD);
        pts.push(`${x.toFixed(1)},${yv.toFixed(1)}`);
      }
      if (pts.length > 0)
        root.appendChild(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: l.color, 'stroke-width': 2 }));
    });
  }

  function renderEvents(list) {
    const all = [];
    list.forEach((ep) => {
      ep.state.events.forEach((e) => {
        all.push({ atMs: e.atMs, node: ep.id, kind: e.kind, message: e.message, term: e.term });
      });
    });
    localEvents.forEach((e) => {
      all.push(e);
    });
    all.sort((a, b) => b.atMs - a.atMs);
    const ul = document.getElementById('events');
    ul.replaceChildren();
    all.slice(0, 60).forEach((e) => {
      ul.appendChild(
        el(
          'li',
          { 'data-kind': e.kind, 'data-from': e.node, 'data-term': e.term === null ? '' : String(e.term) },
          el('span', { class: 'dim' }, `${new Date(e.atMs).toLocaleTimeString()} `),
          el('span', { class: 'node' }, e.node),
          el('span', { class: 'kind' }, e.kind),
          e.message,
          e.term === null ? '' : el('span', { class: 'dim' }, ` (term ${e.term})`),
        ),
      );
    });
  }

  function tick() {
    endpoints.forEach(poll);
    setTimeout(tick, POLL_MS);
  }
  tick();
})();
