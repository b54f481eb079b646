"""The live view served at ``/``: the topology, every service path, PE health and counters,
refreshed every second from the API (no build step, no third-party script: one HTML page with
inline SVG and plain JavaScript). At hundreds of switches it stays cheap: see the comment at the
top of the script and bench/controller_view.py.

A token is taken from the page address's fragment (``/#token=…``: a fragment is never sent to
the server, so it stays out of logs) and sent as ``Authorization: Bearer``; a tenant's token
shows that tenant's paths and counters only, as the API does.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wphw controller</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 1em; color: #222; }
 h1 { font-size: 1.3em; margin: 0 0 .3em 0; }
 #status { color: #555; margin-bottom: .6em; }
 #err { color: #b00; }
 .wrap { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
 table { border-collapse: collapse; margin-bottom: 1em; }
 td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
 th { background: #f3f3f3; }
 .up { color: #080; } .down { color: #c00; font-weight: bold; }
 svg text { font-size: 11px; }
</style>
</head>
<body>
<h1>wphw controller</h1>
<div id="status">loading…</div>
<div id="err"></div>
<div class="wrap">
 <svg id="topo" width="560" height="460" viewBox="0 0 560 460" role="img"
      aria-label="topology and service paths"></svg>
 <div>
  <h2>Service paths</h2>
  <table id="paths"><thead><tr><th>SPI</th><th>rules</th><th>hops</th><th>via</th></tr></thead>
   <tbody></tbody></table>
  <h2>PE health</h2>
  <table id="health"><thead><tr><th>PE</th><th>waypoint</th><th>state</th></tr></thead>
   <tbody></tbody></table>
  <h2>Rule counters</h2>
  <div id="counters-note"></div>
  <table id="counters"><thead><tr><th>switch</th><th>rule</th><th>packets</th><th>bytes</th>
   </tr></thead><tbody></tbody></table>
 </div>
</div>
<script>
"use strict";
// Polling that stays cheap at hundreds of switches (bench/controller_view.py):
// * one cycle at a time (setTimeout after the last one finished, never overlapping);
// * the topology once; the service paths (and the drawing) only when the installed plan
//   changed (status.applies / policy_version); PE health every cycle, applied in place;
// * the rule counters (the one call that reads the switches) without the per-hop ones, and
//   only every max(1 s, 4 × its last duration): a slow fabric is polled less often;
// * the counters table shows the busiest RULE_ROWS rules, rebuilt only when they changed.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? {"Authorization": "Bearer " + token} : {};
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const PERIOD = 1000, RULE_ROWS = 100, LABELS_UPTO = 60;
const state = {topo: null, planKey: null, healthKey: null, countersKey: null,
               countersDue: 0, paths: []};
async function get(path) {
  const r = await fetch(path, {headers});
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}
function el(tag, attrs, text) {
  const ns = ["svg", "path", "circle", "rect", "text", "polyline", "g", "title"].includes(tag)
    ? "http://www.w3.org/2000/svg" : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function row(cells, attrs) {
  const tr = el("tr", attrs);
  for (const c of cells) {
    const td = el("td", {}, c.text !== undefined ? c.text : c);
    if (c.cls) td.className = c.cls;
    tr.appendChild(td);
  }
  return tr;
}
function fill(id, rows) {
  document.querySelector("#" + id + " tbody").replaceChildren(...rows);
}
function draw(topo, paths) {
  const svg = document.getElementById("topo");
  const names = topo.switches.map(s => s.name);
  // room for every switch on the circle (the picture scales down to the element's size)
  const r = Math.max(180, 40 + 25 * Math.min(names.length, 6), 16 * names.length / Math.PI);
  const size = 2 * r + 100, cx = size / 2, cy = size / 2;
  svg.setAttribute("viewBox", "0 0 " + size + " " + size);
  const pos = {};
  names.forEach((n, i) => {
    const a = 2 * Math.PI * i / Math.max(1, names.length) - Math.PI / 2;
    pos[n] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  // every link in one <path> (a fat tree of 980 switches has 10,976 links: one element
  // each made the drawing the slowest part of the page)
  const d = topo.links.map(l => "M" + pos[l.a][0].toFixed(1) + " " + pos[l.a][1].toFixed(1)
    + "L" + pos[l.b][0].toFixed(1) + " " + pos[l.b][1].toFixed(1)).join("");
  const parts = [el("path", {d: d, stroke: "#bbb", fill: "none", id: "links",
                             "stroke-width": names.length > LABELS_UPTO ? 1 : 3})];
  paths.forEach((p, i) => {
    const off = 4 * (i % 5) - 8;
    const pts = p.switches.map(s => (pos[s][0] + off) + "," + (pos[s][1] + off)).join(" ");
    if (p.switches.length > 1) {
      parts.push(el("polyline", {points: pts, fill: "none", stroke: COLORS[i % COLORS.length],
                                 "stroke-width": 2, "data-spi": p.spi}));
    }
  });
  const labels = names.length <= LABELS_UPTO;
  for (const n of names) {
    const [x, y] = pos[n];
    const c = el("circle", {cx: x, cy: y, r: labels ? 16 : 6, fill: "#eef", stroke: "#335"});
    c.appendChild(el("title", {}, n));
    parts.push(c);
    if (labels) parts.push(el("text", {x: x - 8, y: y + 4}, n));
  }
  for (const w of topo.waypoints) {
    const [x, y] = pos[w.switch];
    const box = el("rect", {x: x + 18, y: y - 30, width: 12, height: 12, fill: "#4a4",
                            "data-waypoint": w.name, "data-pes": w.pes.join(" ")});
    box.appendChild(el("title", {}, w.name + ": " + w.pes.join(", ")));
    parts.push(box);
    if (labels) parts.push(el("text", {x: x + 32, y: y - 20}, w.pes.join(",")));
  }
  svg.replaceChildren(...parts);
}
function showHealth(health) {
  fill("health", health.map(h => row(
    [h.pe, h.waypoint, {text: h.up ? "up" : "DOWN", cls: h.up ? "up" : "down"}],
    {"data-pe": h.pe, "data-up": String(h.up)})));
  const up = Object.fromEntries(health.map(h => [h.pe, h.up]));
  for (const box of document.querySelectorAll("#topo rect[data-waypoint]")) {
    const dead = box.dataset.pes.split(" ").some(pe => up[pe] === false);
    box.setAttribute("fill", dead ? "#c00" : "#4a4");
  }
}
function showPaths(paths) {
  fill("paths", paths.map(p => row(
    [String(p.spi), p.rules.join(", "),
     p.hops.map(h => h.service + "@" + h.pe).join(" → "), p.switches.join(" › ")],
    {"data-spi": p.spi, "data-pes": p.hops.map(h => h.pe).join(" ")})));
  draw(state.topo, paths);
}
function showCounters(counters) {
  const top = counters.rules.slice().sort((a, b) => b.packets - a.packets
    || (a.switch < b.switch ? -1 : a.switch > b.switch ? 1 : b.priority - a.priority))
    .slice(0, RULE_ROWS);
  const key = JSON.stringify(top) + counters.rules.length;
  if (key === state.countersKey) return;
  state.countersKey = key;
  fill("counters", top.map(c => row(
    [c.switch, c.rule || "-", String(c.packets), String(c.bytes)])));
  document.getElementById("counters-note").textContent =
    counters.rules.length > top.length
      ? "the " + top.length + " busiest of " + counters.rules.length + " rules" : "";
}
async function cycle() {
  if (state.topo === null) state.topo = await get("/api/v1/topology");
  const now = Date.now();
  const wantCounters = now >= state.countersDue;
  const [status, health] = await Promise.all([get("/api/v1/status"), get("/api/v1/health")]);
  const planKey = status.policy_version + "/" + status.applies;
  let counters = null;
  if (wantCounters) {  // the slow call: asked first, shown last
    const t0 = performance.now();
    counters = get("/api/v1/counters?hops=0").then(c => {
      state.countersDue = Date.now() + Math.max(PERIOD, 4 * (performance.now() - t0));
      return c;
    });
    counters.catch(() => {});  // awaited below; an error is shown there
  }
  if (planKey !== state.planKey) {
    const paths = await get("/api/v1/paths");
    state.paths = paths;
    showPaths(paths);
    state.planKey = planKey;
    state.healthKey = null;  // the drawing is new: colour its waypoints again
  }
  const healthKey = JSON.stringify(health);
  if (healthKey !== state.healthKey) {
    showHealth(health);
    state.healthKey = healthKey;
  }
  document.getElementById("status").textContent =
    "policy version " + status.policy_version + " · " + status.rules + " rules · " +
    status.entries + " entries · " + state.topo.switches.length + " switches · failed PEs: " +
    (status.failed_pes.join(", ") || "none") +
    (status.last_change ? " · last change: " + status.last_change.reason : "");
  // topology, paths and health are on the page: usable before the counters arrive
  if (!document.body.dataset.painted) document.body.dataset.painted = String(Date.now());
  if (counters !== null) showCounters(await counters);
}
async function loop() {
  try {
    await cycle();
    document.getElementById("err").textContent = "";
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) {
    document.getElementById("err").textContent = String(e);
  }
  setTimeout(loop, PERIOD);
}
loop();
</script>
</body>
</html>
"""


def page() -> str:
    return PAGE
