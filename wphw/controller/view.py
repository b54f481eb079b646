"""The live view served at ``/``: the topology, every service path, PE health and counters,
refreshed every second from the API (no build step, no third-party script: one HTML page with
inline SVG and plain JavaScript).

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
  <table id="counters"><thead><tr><th>switch</th><th>rule</th><th>packets</th><th>bytes</th>
   </tr></thead><tbody></tbody></table>
 </div>
</div>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? {"Authorization": "Bearer " + token} : {};
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
async function get(path) {
  const r = await fetch(path, {headers});
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}
function el(tag, attrs, text) {
  const ns = ["svg", "line", "circle", "rect", "text", "polyline", "g"].includes(tag)
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
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}
function draw(topo, paths, health) {
  const svg = document.getElementById("topo");
  const names = topo.switches.map(s => s.name);
  const pos = {};
  const cx = 280, cy = 230, r = Math.min(180, 40 + 25 * names.length);
  names.forEach((n, i) => {
    const a = 2 * Math.PI * i / Math.max(1, names.length) - Math.PI / 2;
    pos[n] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  const parts = [];
  for (const l of topo.links) {
    const [a, b] = [pos[l.a], pos[l.b]];
    parts.push(el("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: "#bbb",
                           "stroke-width": 3}));
  }
  paths.forEach((p, i) => {
    const off = 4 * (i % 5) - 8;
    const pts = p.switches.map(s => (pos[s][0] + off) + "," + (pos[s][1] + off)).join(" ");
    if (p.switches.length > 1) {
      parts.push(el("polyline", {points: pts, fill: "none", stroke: COLORS[i % COLORS.length],
                                 "stroke-width": 2, "data-spi": p.spi}));
    }
  });
  const up = Object.fromEntries(health.map(h => [h.pe, h.up]));
  for (const n of names) {
    const [x, y] = pos[n];
    parts.push(el("circle", {cx: x, cy: y, r: 16, fill: "#eef", stroke: "#335"}));
    parts.push(el("text", {x: x - 8, y: y + 4}, n));
  }
  for (const w of topo.waypoints) {
    const [x, y] = pos[w.switch];
    const dead = w.pes.some(pe => up[pe] === false);
    parts.push(el("rect", {x: x + 18, y: y - 30, width: 12, height: 12,
                           fill: dead ? "#c00" : "#4a4", "data-waypoint": w.name}));
    parts.push(el("text", {x: x + 32, y: y - 20}, w.pes.join(",")));
  }
  svg.replaceChildren(...parts);
}
async function refresh() {
  try {
    const [status, topo, paths, health, counters] = await Promise.all([
      get("/api/v1/status"), get("/api/v1/topology"), get("/api/v1/paths"),
      get("/api/v1/health"), get("/api/v1/counters")]);
    document.getElementById("status").textContent =
      "policy version " + status.policy_version + " · " + status.rules + " rules · " +
      status.entries + " entries · failed PEs: " + (status.failed_pes.join(", ") || "none") +
      (status.last_change ? " · last change: " + status.last_change.reason : "");
    fill("paths", paths.map(p => row(
      [String(p.spi), p.rules.join(", "),
       p.hops.map(h => h.service + "@" + h.pe).join(" → "), p.switches.join(" › ")],
      {"data-spi": p.spi, "data-pes": p.hops.map(h => h.pe).join(" ")})));
    fill("health", health.map(h => row(
      [h.pe, h.waypoint, {text: h.up ? "up" : "DOWN", cls: h.up ? "up" : "down"}],
      {"data-pe": h.pe, "data-up": String(h.up)})));
    fill("counters", counters.rules.map(c => row(
      [c.switch, c.rule || "-", String(c.packets), String(c.bytes)])));
    draw(topo, paths, health);
    document.getElementById("err").textContent = "";
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) {
    document.getElementById("err").textContent = String(e);
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""


def page() -> str:
    return PAGE
