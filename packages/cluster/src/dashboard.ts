/**
 * The dashboard: one self-contained HTML page (its CSS and script inline,
 * no CDN, no font, no network but the nodes themselves), served by every
 * node's admin endpoint at `/` and `/dashboard`.
 *
 * How one page shows the whole cluster: the script asks the node that
 * served it for `/dashboard/state`, which lists the other voters' admin
 * addresses (`peerHttp`), then polls every node's `/dashboard/state` once a
 * second, straight from the browser (those answers carry
 * `access-control-allow-origin: *`). So the page keeps working when the
 * node that served it dies: the others still answer. `?nodes=host:port,...`
 * adds endpoints by hand.
 *
 * The script builds the page with DOM calls and `textContent` only (never
 * innerHTML with data), so a node id or event message cannot inject markup.
 * It is written without template literals so that it can live in this
 * TypeScript string.
 */

/** How often the page polls each node, and how long it waits for one. */
export const DASHBOARD_POLL_MS = 1000;
export const DASHBOARD_FETCH_TIMEOUT_MS = 1500;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>distkv dashboard</title>
<style>
  :root { --bg:#0f1419; --panel:#182028; --line:#2a3440; --text:#d8dee6; --dim:#8a96a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --lead:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:1.5rem; align-items:baseline; padding:.8rem 1.2rem; border-bottom:1px solid var(--line); }
  header h1 { font-size:1.1rem; margin:0; }
  header .dim, .dim { color:var(--dim); }
  main { padding:1rem 1.2rem; display:grid; gap:1rem; }
  #nodes { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:.8rem; }
  .card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:.7rem .9rem; }
  .card[data-leader="true"] { border:2px solid var(--lead); box-shadow:0 0 0 3px rgba(88,166,255,.15); }
  .card[data-role="unreachable"] { opacity:.6; }
  .card h2 { margin:0 0 .4rem; font-size:1rem; display:flex; justify-content:space-between; align-items:center; }
  .badge { font-size:.75rem; padding:.1rem .5rem; border-radius:999px; background:var(--line); }
  .badge.leader { background:var(--lead); color:#001; font-weight:600; }
  .badge.candidate { background:var(--warn); color:#110; }
  .badge.unreachable { background:var(--bad); color:#fff; }
  dl { display:grid; grid-template-columns:auto 1fr; gap:.1rem .8rem; margin:0; }
  dt { color:var(--dim); } dd { margin:0; text-align:right; font-variant-numeric:tabular-nums; }
  .health-healthy { color:var(--ok); } .health-not-ready { color:var(--warn); } .health-unreachable { color:var(--bad); }
  section.panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:.7rem .9rem; }
  section.panel h3 { margin:0 0 .5rem; font-size:.95rem; }
  #charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(320px, 1fr)); gap:.8rem; }
  svg { width:100%; height:160px; display:block; }
  #events { list-style:none; margin:0; padding:0; max-height:320px; overflow:auto; font-family:ui-monospace, monospace; font-size:.82rem; }
  #events li { padding:.15rem 0; border-bottom:1px solid var(--line); }
  #events .kind { display:inline-block; min-width:5.5rem; color:var(--lead); }
  #events .node { display:inline-block; min-width:3rem; color:var(--warn); }
</style>
</head>
<body>
<header>
  <h1>distkv</h1>
  <span id="summary" class="dim">connecting…</span>
  <span id="leader" data-leader-id="">leader: none</span>
  <span id="updated" class="dim"></span>
</header>
<main>
  <div id="nodes" aria-label="nodes"></div>
  <div id="charts">
    <section class="panel"><h3>client requests per second <span class="dim">(all nodes)</span></h3><svg id="ops" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="requests per second"></svg></section>
    <section class="panel"><h3>latency, ms <span class="dim">(p50 <span style="color:#3fb950">—</span> and p99 <span style="color:#d29922">—</span>, worst node)</span></h3><svg id="latency" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="latency"></svg></section>
  </div>
  <section class="panel"><h3>recent events</h3><ul id="events"></ul></section>
</main>
<script>
"use strict";
(function () {
  var POLL_MS = __POLL_MS__;
  var TIMEOUT_MS = __TIMEOUT_MS__;
  var CHART_SECONDS = 60;
  var LOCAL_EVENTS_MAX = 100;
  /** base URL -> { base, id, state, reachable, inFlight } */
  var endpoints = new Map();
  var localEvents = [];
  var svgNs = "http://www.w3.org/2000/svg";

  function addEndpoint(base) {
    if (!endpoints.has(base)) endpoints.set(base, { base: base, id: null, state: null, reachable: null, inFlight: false });
  }
  addEndpoint(location.origin);
  var extra = new URLSearchParams(location.search).get("nodes");
  if (extra) extra.split(",").forEach(function (a) { a = a.trim(); if (a) addEndpoint(a.indexOf("://") < 0 ? "http://" + a : a); });

  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
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
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    fetch(ep.base + "/dashboard/state", { signal: ctl.signal, cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (state) {
        if (ep.reachable === false) localEvent(state.id, "reachable", "answers again");
        ep.state = state; ep.id = state.id; ep.reachable = true;
        for (var id in state.peerHttp) addEndpoint("http://" + state.peerHttp[id]);
      })
      .catch(function () {
        if (ep.reachable !== false && ep.id !== null) localEvent(ep.id, "unreachable", "does not answer " + ep.base);
        ep.reachable = false;
      })
      .finally(function () { clearTimeout(timer); ep.inFlight = false; render(); });
  }

  /** One card per node id: endpoints that turned out to be the same node collapse into one. */
  function nodeList() {
    var byId = new Map();
    endpoints.forEach(function (ep) {
      if (ep.id === null) return;
      var had = byId.get(ep.id);
      if (had === undefined || (!had.reachable && ep.reachable)) byId.set(ep.id, ep);
    });
    return Array.from(byId.values()).sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
  }

  /** The leader: a reachable node that says it leads; if two do (a deposed one not yet told), the higher term. */
  function leaderOf(list) {
    var best = null;
    list.forEach(function (ep) {
      if (!ep.reachable || ep.state.status.role !== "leader") return;
      if (best === null || ep.state.status.term > best.state.status.term) best = ep;
    });
    return best;
  }

  function dd(label, value, cls) {
    return [el("dt", {}, label), el("dd", cls ? { class: cls } : {}, value === null || value === undefined ? "–" : value)];
  }

  function render() {
    var list = nodeList();
    var leader = leaderOf(list);
    var nodes = document.getElementById("nodes");
    nodes.replaceChildren();
    list.forEach(function (ep) {
      var s = ep.state.status;
      var role = ep.reachable ? s.role : "unreachable";
      var isLeader = leader !== null && ep === leader;
      var lag = null;
      if (isLeader) lag = 0;
      else if (leader !== null) leader.state.status.peers.forEach(function (p) { if (p.id === ep.id) lag = p.lag; });
      var health = !ep.reachable ? "unreachable" : ep.state.ready ? "healthy" : "not ready";
      var items = [].concat(
        dd("term", s.term), dd("commit", s.commitIndex), dd("applied", s.appliedIndex),
        dd("lag", lag), dd("heartbeat", s.lastContactMs === null || s.lastContactMs === undefined ? null : s.lastContactMs + " ms ago"),
        dd("health", health, "health-" + health.replace(" ", "-")),
        dd("leader", s.leader), dd("keys", s.keys), dd("http", ep.state.httpAddress), dd("pid", ep.state.pid)
      );
      var dl = el("dl", {});
      items.forEach(function (i) { dl.appendChild(i); });
      nodes.appendChild(el("div", { class: "card", "data-node": ep.id, "data-role": role, "data-leader": String(isLeader), "data-health": health, "data-term": String(s.term) },
        el("h2", {}, ep.id, el("span", { class: "badge " + role }, role)), dl));
    });
    var reachable = list.filter(function (ep) { return ep.reachable; }).length;
    document.getElementById("summary").textContent = list.length + " nodes, " + reachable + " reachable";
    var leaderEl = document.getElementById("leader");
    leaderEl.setAttribute("data-leader-id", leader === null ? "" : leader.id);
    leaderEl.textContent = leader === null ? "leader: none" : "leader: " + leader.id + " (term " + leader.state.status.term + ")";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    renderCharts(list);
    renderEvents(list);
  }

  function renderCharts(list) {
    var now = Math.floor(Date.now() / 1000);
    var ops = new Map(), p50 = new Map(), p99 = new Map();
    // An unreachable node's last known points stay: the chart shows its traffic up to when it went away.
    list.forEach(function (ep) {
      ep.state.series.forEach(function (pt) {
        var sec = Math.round(pt.atMs / 1000);
        if (sec <= now - CHART_SECONDS) return;
        ops.set(sec, (ops.get(sec) || 0) + pt.opsPerSec);
        if (pt.p50Ms !== null) p50.set(sec, Math.max(p50.get(sec) || 0, pt.p50Ms));
        if (pt.p99Ms !== null) p99.set(sec, Math.max(p99.get(sec) || 0, pt.p99Ms));
      });
    });
    drawChart(document.getElementById("ops"), now, [{ points: ops, color: "#58a6ff" }], "/s");
    drawChart(document.getElementById("latency"), now, [{ points: p50, color: "#3fb950" }, { points: p99, color: "#d29922" }], " ms");
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(svgNs, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function drawChart(root, now, lines, unit) {
    var W = 600, H = 160, PAD = 18;
    var max = 0;
    lines.forEach(function (l) { l.points.forEach(function (v) { if (v > max) max = v; }); });
    var top = max > 0 ? max * 1.1 : 1;
    root.replaceChildren();
    root.setAttribute("data-max", String(max));
    for (var g = 0; g <= 4; g++) {
      var y = PAD + ((H - 2 * PAD) * g) / 4;
      root.appendChild(svg("line", { x1: 0, x2: W, y1: y, y2: y, stroke: "#2a3440", "stroke-width": 1 }));
    }
    var label = svg("text", { x: 4, y: 13, fill: "#8a96a3", "font-size": 12 });
    label.textContent = "max " + (Math.round(max * 100) / 100) + unit + ", last " + CHART_SECONDS + " s";
    root.appendChild(label);
    lines.forEach(function (l) {
      var pts = [];
      for (var sec = now - CHART_SECONDS + 1; sec <= now; sec++) {
        if (!l.points.has(sec)) continue;
        var x = ((sec - (now - CHART_SECONDS)) / CHART_SECONDS) * W;
        var yv = H - PAD - (l.points.get(sec) / top) * (H - 2 * PAD);
        pts.push(x.toFixed(1) + "," + yv.toFixed(1));
      }
      if (pts.length > 0) root.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: l.color, "stroke-width": 2 }));
    });
  }

  function renderEvents(list) {
    var all = [];
    list.forEach(function (ep) { ep.state.events.forEach(function (e) { all.push({ atMs: e.atMs, node: ep.id, kind: e.kind, message: e.message, term: e.term }); }); });
    localEvents.forEach(function (e) { all.push(e); });
    all.sort(function (a, b) { return b.atMs - a.atMs; });
    var ul = document.getElementById("events");
    ul.replaceChildren();
    all.slice(0, 60).forEach(function (e) {
      ul.appendChild(el("li", { "data-kind": e.kind, "data-from": e.node, "data-term": e.term === null ? "" : String(e.term) },
        el("span", { class: "dim" }, new Date(e.atMs).toLocaleTimeString() + " "),
        el("span", { class: "node" }, e.node), el("span", { class: "kind" }, e.kind), e.message,
        e.term === null ? "" : el("span", { class: "dim" }, " (term " + e.term + ")")));
    });
  }

  function tick() {
    endpoints.forEach(poll);
    setTimeout(tick, POLL_MS);
  }
  tick();
})();
</script>
</body>
</html>
`
  .replace('__POLL_MS__', String(DASHBOARD_POLL_MS))
  .replace('__TIMEOUT_MS__', String(DASHBOARD_FETCH_TIMEOUT_MS));
