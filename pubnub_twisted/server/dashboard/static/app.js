// The dashboard page: a snapshot from /_dashboard/api/snapshot, then batches
// from the event stream, applied once per animation frame.  Rows are keyed
// (channel, uuid, group, endpoint) and updated in place; every string from
// users goes into the page as text (append / textContent), never as HTML.

const API = "/_dashboard/api/";
const LOG_MAX = 300; // event rows kept on the page
const LOG_BURST = 60; // event rows added per batch at most
const PAGE = 100; // occupants listed for the chosen channel
const W = 120, H = 22; // sparkline size
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children); // strings become text nodes
  return node;
}

const view = {
  subKey: null, seq: -1, bucket: 0, points: 60, loading: true, filter: "",
  channels: new Map(), // subKey + "\u0000" + name -> {subKey, name, occupancy, series, row}
  order: [], // names of the shown key's channels, sorted (rows follow this order)
  log: [], // recent events (all keys), oldest first
  chosen: null, occupants: new Map(), occupancy: 0,
  where: null, groups: new Map(), requests: new Map(), total: 0,
};
let queue = [], frame = 0;
const dirty = new Set(); // channels whose row must be redrawn, once it is on screen
const onScreen = new Set(); // channel rows in (or near) the viewport
const watcher = new IntersectionObserver((changes) => {
  for (const change of changes) {
    const entry = change.target.entry;
    if (change.isIntersecting) { onScreen.add(entry); if (dirty.has(entry)) later(); }
    else onScreen.delete(entry);
  }
}, { rootMargin: "200px" });

// -- time and text --------------------------------------------------------

function clock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
const pretty = (value) => JSON.stringify(value, null, 2);
const key = (subKey, name) => subKey + "\u0000" + name;

// -- channels ---------------------------------------------------------------

function spark() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.append(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
  return svg;
}

function drawSpark(entry) {
  const values = entry.series;
  const top = Math.max(1, ...values.filter((v) => v !== null));
  const dx = W / Math.max(1, values.length - 1);
  const points = [];
  values.forEach((v, i) => {
    if (v !== null) points.push(`${(i * dx).toFixed(1)},${(H - 1 - (v / top) * (H - 3)).toFixed(1)}`);
  });
  entry.row.querySelector("polyline").setAttribute("points", points.join(" "));
  entry.row.cells[1].textContent = String(entry.occupancy);
  entry.row.classList.toggle("empty", entry.occupancy === 0);
}

function channelRow(entry) {
  const row = el("tr", { "data-channel": entry.name }, el("td", { class: "name" }, entry.name),
    el("td", { class: "num occupancy" }), el("td", {}, spark()));
  row.addEventListener("click", () => choose(entry.name));
  row.tabIndex = 0; // reachable with Tab; Enter chooses it
  row.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(entry.name); });
  row.entry = entry;
  watcher.observe(row);
  row.hidden = !entry.name.includes(view.filter);
  row.setAttribute("aria-selected", String(entry.name === view.chosen));
  return row;
}

function insertRow(entry) {
  const names = view.order;
  let lo = 0, hi = names.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (names[mid] < entry.name) lo = mid + 1; else hi = mid; }
  names.splice(lo, 0, entry.name);
  entry.row = channelRow(entry);
  const next = lo + 1 < names.length ? view.channels.get(key(view.subKey, names[lo + 1])).row : null;
  $("channels").tBodies[0].insertBefore(entry.row, next);
  dirty.add(entry);
}

function setOccupancy(subKey, name, occupancy) {
  const k = key(subKey, name);
  let entry = view.channels.get(k);
  if (!entry) {
    addSubKey(subKey);
    const series = new Array(view.points).fill(null);
    entry = { subKey, name, occupancy: 0, series, row: null };
    view.channels.set(k, entry);
    if (subKey === view.subKey) insertRow(entry);
  }
  if (subKey === view.subKey) view.total += occupancy - entry.occupancy;
  entry.occupancy = occupancy;
  entry.series[entry.series.length - 1] = occupancy;
  if (entry.row) dirty.add(entry);
}

function advance(bucket) {
  const shift = Math.min(bucket - view.bucket, view.points);
  view.bucket = bucket;
  if (shift <= 0) return;
  for (const entry of view.channels.values()) {
    const last = entry.series[entry.series.length - 1];
    for (let i = 0; i < shift; i++) entry.series.push(last);
    entry.series.splice(0, entry.series.length - view.points);
    if (entry.row) dirty.add(entry);
  }
}

function showKey(subKey) {
  view.subKey = subKey;
  $("sub-key").value = subKey;
  const body = $("channels").tBodies[0];
  for (const row of body.rows) watcher.unobserve(row);
  onScreen.clear();
  body.replaceChildren();
  view.order = [];
  view.total = 0;
  for (const entry of view.channels.values()) {
    entry.row = null;
    if (entry.subKey === subKey) { view.total += entry.occupancy; }
  }
  const mine = [...view.channels.values()].filter((e) => e.subKey === subKey);
  mine.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const fragment = document.createDocumentFragment();
  for (const entry of mine) {
    view.order.push(entry.name);
    entry.row = channelRow(entry);
    fragment.append(entry.row);
    dirty.add(entry);
  }
  body.append(fragment);
  choose(null);
  renderLog();
  renderGroups(view.groupList || []);
}

function addSubKey(subKey) {
  const select = $("sub-key");
  if ([...select.options].some((o) => o.value === subKey)) return;
  select.append(el("option", { value: subKey }, subKey));
  if (view.subKey === null) showKey(subKey);
}

// -- groups and requests ------------------------------------------------------

function renderGroups(list) {
  view.groupList = list;
  const seen = new Set();
  for (const [subKey, group, channels] of list) {
    if (subKey !== view.subKey) continue;
    seen.add(group);
    let li = view.groups.get(group);
    if (!li) {
      li = el("li", { "data-group": group }, el("b", {}, group), el("span"));
      view.groups.set(group, li);
      $("groups").append(li);
    }
    li.lastChild.textContent = channels.join(", ") || "(no channels)";
  }
  for (const [group, li] of view.groups) if (!seen.has(group)) { li.remove(); view.groups.delete(group); }
}

function renderRequests(counts) {
  for (const [operation, count] of Object.entries(counts)) {
    let row = view.requests.get(operation);
    if (!row) {
      row = el("tr", { "data-operation": operation }, el("td", {}, operation), el("td", { class: "num" }));
      view.requests.set(operation, row);
      $("requests").tBodies[0].append(row);
    }
    row.cells[1].textContent = String(count);
  }
}

// -- events -------------------------------------------------------------------

function matches(event) {
  const f = view.filter;
  return !f || event.channel.includes(f) || (event.uuid || "").includes(f);
}

function eventRow(event) {
  const action = event.kind === "presence" ? event.action : event.kind; // or message, signal
  const li = el("li", { "data-action": action, "data-channel": event.channel },
    el("time", {}, clock(event.t)), el("span", { class: `action ${action}` }, action),
    el("span", { class: "ch" }, event.channel), " ");
  if (event.uuid != null) {
    li.setAttribute("data-uuid", event.uuid);
    const who = el("span", { class: "uuid" }, event.uuid);
    who.addEventListener("click", () => findUuid(event.uuid));
    li.append(who, " ");
  }
  if (event.kind === "presence") li.append(el("span", { class: "occ" }, `(${event.occupancy} here)`));
  if (event.action === "interval") {
    const parts = ["join", "leave", "timeout"].filter((a) => a in event).map((a) => `${a} ${event[a]}`);
    if (parts.length) li.append(" ", parts.join(", "));
  }
  if (event.state !== undefined) li.append(el("code", { class: "state" }, JSON.stringify(event.state)));
  if (event.message !== undefined) li.append(el("pre", {}, event.message));
  li.hidden = !matches(event);
  li.event = event;
  return li;
}

function renderLog() {
  const rows = view.log.filter((e) => e.sub_key === view.subKey).slice(-LOG_MAX).reverse();
  $("events").replaceChildren(...rows.map(eventRow));
}

function logEvents(events) {
  view.log.push(...events);
  if (view.log.length > 2 * LOG_MAX) view.log.splice(0, view.log.length - LOG_MAX);
  // Rows scroll by faster than anyone reads under a burst: show the newest LOG_BURST of it.
  const mine = events.filter((e) => e.sub_key === view.subKey).slice(-LOG_BURST);
  if (!mine.length) return;
  const fragment = document.createDocumentFragment();
  for (let i = mine.length - 1; i >= 0; i--) fragment.append(eventRow(mine[i]));
  const list = $("events");
  list.prepend(fragment);
  while (list.childElementCount > LOG_MAX) list.lastElementChild.remove();
}

// -- the chosen channel and the chosen uuid --------------------------------------

async function getJSON(path, params) {
  const response = await fetch(API + path + "?" + new URLSearchParams(params));
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function occupantRow(uuid, state) {
  const who = el("span", { class: "uuid" }, uuid);
  who.addEventListener("click", () => findUuid(uuid));
  const li = el("li", { "data-uuid": uuid }, who, el("pre", {}));
  setState(li, state);
  return li;
}

function setState(li, state) {
  const pre = li.querySelector("pre");
  pre.hidden = state == null || Object.keys(state).length === 0;
  pre.textContent = pre.hidden ? "" : pretty(state);
}

function noteOccupancy() {
  const shown = view.occupants.size;
  $("occupant-note").textContent = view.chosen === null ? "" :
    shown < view.occupancy ? `${view.occupancy} here, showing ${shown}` : `${view.occupancy} here`;
  $("more-occupants").hidden = view.chosen === null || shown >= view.occupancy;
}

function addOccupants(occupants) {
  const rows = [];
  for (const o of occupants) {
    if (view.occupants.has(o.uuid)) continue;
    const li = occupantRow(o.uuid, o.state);
    view.occupants.set(o.uuid, li);
    rows.push(li);
  }
  $("occupants").append(...rows);
}

async function more() {
  const name = view.chosen;
  const page = await getJSON("channel",
    { sub_key: view.subKey, channel: name, offset: view.occupants.size, limit: PAGE });
  if (view.chosen !== name) return;
  view.limit += PAGE;
  addOccupants(page.occupants);
  view.occupancy = page.occupancy;
  noteOccupancy();
}

let refetchTimer = 0;
async function choose(name) {
  view.chosen = name;
  for (const entry of view.channels.values()) {
    if (entry.row) entry.row.setAttribute("aria-selected", String(entry.name === name));
  }
  $("chosen-channel").textContent = name === null ? "choose a channel" : name;
  view.occupants = new Map();
  $("occupants").replaceChildren();
  view.occupancy = 0;
  view.limit = PAGE;
  if (name === null) { noteOccupancy(); return; }
  const page = await getJSON("channel", { sub_key: view.subKey, channel: name, limit: PAGE });
  if (view.chosen !== name) return;
  addOccupants(page.occupants);
  view.occupancy = page.occupancy;
  noteOccupancy();
}

function applyToChosen(event) {
  if (event.channel !== view.chosen || event.kind !== "presence") return;
  view.occupancy = event.occupancy;
  const li = view.occupants.get(event.uuid);
  if (event.action === "join" || event.action === "state-change") {
    if (li) setState(li, event.state);
    else if (view.occupants.size < view.limit) {
      const row = occupantRow(event.uuid, event.state);
      view.occupants.set(event.uuid, row);
      $("occupants").append(row);
    }
  } else if (event.action === "leave" || event.action === "timeout") {
    if (li) { li.remove(); view.occupants.delete(event.uuid); }
  } else if (event.action === "interval") {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => choose(view.chosen), 250);
  }
  noteOccupancy();
}

let whereTimer = 0;
async function findUuid(uuid) {
  view.where = uuid || null;
  $("where-uuid").value = uuid;
  if (!uuid) { $("where").replaceChildren(); return; }
  const found = await getJSON("uuid", { sub_key: view.subKey, uuid });
  if (view.where !== uuid) return;
  const rows = found.channels.map((c) => {
    const li = el("li", { "data-channel": c.channel }, el("span", { class: "ch" }, c.channel), el("pre", {}));
    setState(li, c.state);
    return li;
  });
  $("where").replaceChildren(...(rows.length ? rows : [el("li", { class: "note" }, `${uuid} is on no channel`)]));
}

// -- batches ----------------------------------------------------------------------

function apply(batch) {
  if (batch.seq <= view.seq) return;
  view.seq = batch.seq;
  if (batch.bucket !== undefined) advance(batch.bucket);
  for (const [subKey, name, occupancy] of batch.occupancy || []) setOccupancy(subKey, name, occupancy);
  if (batch.events) {
    logEvents(batch.events);
    for (const event of batch.events) {
      addSubKey(event.sub_key);
      if (event.sub_key !== view.subKey) continue;
      applyToChosen(event);
      if (view.where !== null && event.uuid === view.where) {
        clearTimeout(whereTimer);
        whereTimer = setTimeout(() => findUuid(view.where), 200);
      }
    }
  }
  if (batch.dropped) $("dropped").textContent = `(${batch.dropped} not shown: too many at once)`;
  if (batch.groups) renderGroups(batch.groups);
  if (batch.requests) renderRequests(batch.requests);
}

function draw() {
  frame = 0;
  if (view.loading) return;
  const batches = queue;
  queue = [];
  for (const batch of batches) apply(batch);
  for (const entry of dirty) {
    if (!entry.row) dirty.delete(entry);
    else if (onScreen.has(entry)) { drawSpark(entry); dirty.delete(entry); }
  }
  $("channel-count").textContent = `(${view.order.length})`;
  $("totals").textContent = `${view.order.length} channels · ${view.total} present`;
}

function later() { if (!frame) frame = requestAnimationFrame(draw); }

async function load() {
  view.loading = true;
  const snap = await getJSON("snapshot", {});
  view.seq = snap.seq;
  view.bucket = snap.bucket;
  view.points = snap.points;
  view.channels = new Map();
  view.log = snap.events;
  for (const [subKey, name, occupancy, series] of snap.channels) {
    const padded = new Array(view.points - series.length).fill(null).concat(series);
    view.channels.set(key(subKey, name), { subKey, name, occupancy, series: padded, row: null });
  }
  const select = $("sub-key");
  select.replaceChildren(...snap.sub_keys.map((k) => el("option", { value: k }, k)));
  view.groupList = snap.groups;
  const truncated = $("truncated");
  truncated.hidden = !snap.truncated;
  truncated.textContent = `${snap.truncated} more channels not listed`;
  const keep = snap.sub_keys.includes(view.subKey) ? view.subKey : snap.sub_keys[0] ?? null;
  const chosen = view.chosen;
  if (keep !== null) showKey(keep); else { view.subKey = null; renderLog(); }
  if (chosen !== null && keep !== null) choose(chosen);
  if (view.where) findUuid(view.where);
  renderRequests(snap.requests);
  view.loading = false;
  later();
}

function connect() {
  const source = new EventSource(API + "events");
  const status = $("status");
  source.onopen = () => { status.textContent = "live"; status.dataset.live = "true"; load(); };
  source.onerror = () => { status.textContent = "reconnecting…"; status.dataset.live = "false"; };
  source.onmessage = (message) => { queue.push(JSON.parse(message.data)); later(); };
  source.addEventListener("resync", () => load());
}

$("filter").addEventListener("input", (e) => {
  view.filter = e.target.value;
  for (const entry of view.channels.values()) if (entry.row) entry.row.hidden = !entry.name.includes(view.filter);
  for (const li of $("events").children) li.hidden = !matches(li.event);
});
$("sub-key").addEventListener("change", (e) => showKey(e.target.value));
$("more-occupants").addEventListener("click", () => more());
$("where-form").addEventListener("submit", (e) => { e.preventDefault(); findUuid($("where-uuid").value.trim()); });
connect();
