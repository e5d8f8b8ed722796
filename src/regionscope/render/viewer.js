// regionscope viewer: draws the regions of a partition on a canvas, shows the region under
// the pointer, pans, zooms, toggles layers and steps through a series of partitions.
// The data (JSON with base64 typed arrays) is inlined in the page by regionscope.render.html;
// nothing is loaded from the network.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const DATA = JSON.parse($("rs-data").textContent);
  const RS = (window.regionscope = { ready: false, error: null, step: 0, loadMs: null });
  const TYPES = {
    f8: [Float64Array, 8], f4: [Float32Array, 4], u1: [Uint8Array, 1],
    u2: [Uint16Array, 2], u4: [Uint32Array, 4], i4: [Int32Array, 4],
  };
  const stage = $("rs-stage"), canvas = $("rs-canvas"), hoverCanvas = $("rs-hover");
  const ctx = canvas.getContext("2d"), hctx = hoverCanvas.getContext("2d");
  const buffer = document.createElement("canvas"), bctx = buffer.getContext("2d");
  const steps = new Array(DATA.steps.length).fill(null);
  const show = { fill: true, decision: true, layers: {} };
  let cur = null, view = null, rendered = null, hovered = -1, fullTimer = null, drag = null;
  let width = 0, height = 0, dpr = 1, pointer = null;

  // ---------------------------------------------------------------- decoding
  function b64bytes(s) {
    const bin = atob(s), n = bin.length, out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  async function decode(d) {
    let bytes = b64bytes(d.b);
    if (d.z) bytes = await inflate(bytes);
    const [T, size] = TYPES[d.t];
    if (d.s) { // un-shuffle: all first bytes were stored first, then all second bytes...
      const n = d.n, out = new Uint8Array(n * size);
      for (let b = 0; b < size; b++) for (let i = 0, base = b * n; i < n; i++) out[i * size + b] = bytes[base + i];
      bytes = out;
    }
    if (bytes.byteOffset % size) bytes = bytes.slice();
    return new T(bytes.buffer, bytes.byteOffset, d.n);
  }

  function buildGrid(s) {
    // a uniform grid over the domain; each cell lists the regions whose bounding box meets it
    const F = s.F, [x0, x1, y0, y1] = s.meta.bounds;
    const cells = Math.max(1, Math.min(4 * F, 1 << 22) / 2);
    const gx = Math.max(1, Math.round(Math.sqrt(cells * (x1 - x0) / (y1 - y0))));
    const gy = Math.max(1, Math.round(cells / gx));
    const cw = (x1 - x0) / gx, ch = (y1 - y0) / gy, box = s.box;
    const cx = (v) => Math.min(gx - 1, Math.max(0, Math.floor((v - x0) / cw)));
    const cy = (v) => Math.min(gy - 1, Math.max(0, Math.floor((v - y0) / ch)));
    const count = new Uint32Array(gx * gy + 1);
    for (let f = 0; f < F; f++) {
      const a = cx(box[4 * f]), b = cx(box[4 * f + 1]), c = cy(box[4 * f + 2]), d = cy(box[4 * f + 3]);
      for (let j = c; j <= d; j++) for (let i = a; i <= b; i++) count[j * gx + i + 1]++;
    }
    for (let k = 1; k <= gx * gy; k++) count[k] += count[k - 1];
    const items = new Uint32Array(count[gx * gy]), fillAt = count.slice(0, gx * gy);
    for (let f = 0; f < F; f++) {
      const a = cx(box[4 * f]), b = cx(box[4 * f + 1]), c = cy(box[4 * f + 2]), d = cy(box[4 * f + 3]);
      for (let j = c; j <= d; j++) for (let i = a; i <= b; i++) items[fillAt[j * gx + i]++] = f;
    }
    s.grid = { gx, gy, x0, y0, cw, ch, start: count, items, cx, cy };
  }

  async function loadStep(k) {
    if (steps[k]) return steps[k];
    const meta = DATA.steps[k], A = meta.arrays, t0 = performance.now();
    const s = { meta, F: meta.regions, timings: {} };
    for (const key of Object.keys(A)) s[key] = await decode(A[key]);
    s.timings.decode = performance.now() - t0;
    const F = s.F, off = new Uint32Array(F + 1);
    for (let f = 0; f < F; f++) off[f + 1] = off[f] + s.sizes[f];
    s.off = off;
    const box = new Float64Array(4 * F), xy = s.xy, rv = s.rv;
    for (let f = 0; f < F; f++) {
      let a = Infinity, b = -Infinity, c = Infinity, d = -Infinity;
      for (let i = off[f]; i < off[f + 1]; i++) {
        const x = xy[2 * rv[i]], y = xy[2 * rv[i] + 1];
        if (x < a) a = x; if (x > b) b = x; if (y < c) c = y; if (y > d) d = y;
      }
      box[4 * f] = a; box[4 * f + 1] = b; box[4 * f + 2] = c; box[4 * f + 3] = d;
    }
    s.box = box;
    // each region's colour laid over white, as the canvas's little-endian RGBA pixels
    const pixel = new Uint32Array(F), bytes = new Uint8Array(pixel.buffer);
    for (let f = 0; f < F; f++) {
      const al = s.rgba[4 * f + 3] / 255;
      for (let ch = 0; ch < 3; ch++) bytes[4 * f + ch] = Math.round(s.rgba[4 * f + ch] * al + 255 * (1 - al));
      bytes[4 * f + 3] = 255;
    }
    s.pixel = pixel;
    s.patterns = [];
    for (const layer of meta.layers) s.patterns.push(await decode(layer.pattern.data));
    const t1 = performance.now();
    s.timings.prepare = t1 - t0 - s.timings.decode;
    buildGrid(s);
    s.timings.grid = performance.now() - t1;
    steps[k] = s;
    return s;
  }

  // ---------------------------------------------------------------- geometry
  function locateIn(s, x, y) {
    const g = s.grid, [x0, x1, y0, y1] = s.meta.bounds;
    const tol = 1e-9 * Math.hypot(x1 - x0, y1 - y0);
    if (x < x0 - tol || x > x1 + tol || y < y0 - tol || y > y1 + tol) return -1;
    const cell = g.cy(y) * g.gx + g.cx(x);
    let best = -1, bestDist = -Infinity;
    const xy = s.xy, rv = s.rv, off = s.off;
    for (let k = g.start[cell]; k < g.start[cell + 1]; k++) {
      const f = g.items[k];
      let worst = Infinity;
      for (let i = off[f], n = off[f + 1]; i < n; i++) {
        const j = i + 1 < n ? i + 1 : off[f];
        const ax = xy[2 * rv[i]], ay = xy[2 * rv[i] + 1];
        const dx = xy[2 * rv[j]] - ax, dy = xy[2 * rv[j] + 1] - ay;
        const len = Math.hypot(dx, dy);
        if (len === 0) continue;
        const dist = (dx * (y - ay) - dy * (x - ax)) / len; // > 0 inside (counter-clockwise)
        if (dist < worst) worst = dist;
        if (worst < bestDist) break;
      }
      if (worst > bestDist) { bestDist = worst; best = f; }
    }
    return bestDist >= -tol ? best : -1;
  }
  function area(s, f) {
    const xy = s.xy, rv = s.rv, a = s.off[f], b = s.off[f + 1];
    const ox = xy[2 * rv[a]], oy = xy[2 * rv[a] + 1];
    let sum = 0;
    for (let i = a + 1; i < b - 1; i++) {
      const px = xy[2 * rv[i]] - ox, py = xy[2 * rv[i] + 1] - oy;
      const qx = xy[2 * rv[i + 1]] - ox, qy = xy[2 * rv[i + 1] + 1] - oy;
      sum += px * qy - py * qx;
    }
    return sum / 2;
  }
  const toScreen = (x, y) => [view.tx + view.s * x, view.ty - view.s * y];
  const toDomain = (px, py) => [(px - view.tx) / view.s, (view.ty - py) / view.s];

  function fit() {
    const [x0, x1, y0, y1] = cur.meta.bounds, m = 16;
    const s = Math.min((width - 2 * m) / (x1 - x0), (height - 2 * m) / (y1 - y0));
    view = { s, tx: width / 2 - s * (x0 + x1) / 2, ty: height / 2 + s * (y0 + y1) / 2 };
  }

  // ---------------------------------------------------------------- drawing
  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = Math.max(1, stage.clientWidth); height = Math.max(1, stage.clientHeight);
    for (const c of [canvas, hoverCanvas, buffer]) {
      c.width = Math.round(width * dpr); c.height = Math.round(height * dpr);
    }
    for (const c of [canvas, hoverCanvas]) { c.style.width = width + "px"; c.style.height = height + "px"; }
  }
  function visibleRegions(s) {
    // regions whose cells meet the view (all of them when the whole domain is in view)
    const [ax, ay] = toDomain(0, height), [bx, by] = toDomain(width, 0), g = s.grid;
    const i0 = g.cx(ax), i1 = g.cx(bx), j0 = g.cy(ay), j1 = g.cy(by);
    if ((i1 - i0 + 1) * (j1 - j0 + 1) >= g.gx * g.gy) return null;
    const seen = new Uint8Array(s.F);
    for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) {
      const cell = j * g.gx + i;
      for (let k = g.start[cell]; k < g.start[cell + 1]; k++) seen[g.items[k]] = 1;
    }
    return seen;
  }
  function fillRegions(s, vis) {
    // scan-line fill of the convex regions straight into the pixels: a pixel takes the colour
    // of the region containing its centre (no seams, one pass over the pixels)
    const W = buffer.width, H = buffer.height, img = bctx.createImageData(W, H);
    const px = new Uint32Array(img.data.buffer), xy = s.xy, rv = s.rv, off = s.off;
    px.fill(0xffffffff);
    const k = view.s * dpr, ox = view.tx * dpr, oy = view.ty * dpr;
    const X = new Float64Array(64), Y = new Float64Array(64);
    for (let f = 0; f < s.F; f++) {
      if (vis && !vis[f]) continue;
      const a = off[f], n = off[f + 1] - a;
      let X0 = X, Y0 = Y;
      if (n > X.length) { X0 = new Float64Array(n); Y0 = new Float64Array(n); }
      let ylo = Infinity, yhi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = rv[a + i];
        X0[i] = ox + k * xy[2 * v]; Y0[i] = oy - k * xy[2 * v + 1];
        if (Y0[i] < ylo) ylo = Y0[i]; if (Y0[i] > yhi) yhi = Y0[i];
      }
      const r0 = Math.max(0, Math.ceil(ylo - 0.5)), r1 = Math.min(H, Math.ceil(yhi - 0.5));
      if (r0 >= r1) continue;
      const col = s.pixel[f];
      for (let r = r0; r < r1; r++) {
        const yc = r + 0.5;
        let xl = Infinity, xr = -Infinity;
        for (let i = 0; i < n; i++) {
          const j = i + 1 < n ? i + 1 : 0, ya = Y0[i], yb = Y0[j];
          if ((ya <= yc && yc < yb) || (yb <= yc && yc < ya)) {
            const x = X0[i] + (yc - ya) * (X0[j] - X0[i]) / (yb - ya);
            if (x < xl) xl = x; if (x > xr) xr = x;
          }
        }
        const c0 = Math.max(0, Math.ceil(xl - 0.5)), c1 = Math.min(W, Math.ceil(xr - 0.5));
        if (c0 < c1) px.fill(col, r * W + c0, r * W + c1);
      }
    }
    bctx.putImageData(img, 0, 0);
  }
  function polygonPath(path, s, f) {
    const xy = s.xy, rv = s.rv, a = s.off[f], b = s.off[f + 1];
    for (let i = a; i < b; i++) {
      const x = view.tx + view.s * xy[2 * rv[i]], y = view.ty - view.s * xy[2 * rv[i] + 1];
      if (i === a) path.moveTo(x, y); else path.lineTo(x, y);
    }
    path.closePath();
  }
  function drawFull() {
    const t0 = performance.now(), s = cur, c = bctx, vis = visibleRegions(s);
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.fillStyle = "#ffffff"; c.fillRect(0, 0, buffer.width, buffer.height);
    const [x0, x1, y0, y1] = s.meta.bounds;
    const pxArea = (x1 - x0) * (y1 - y0) * view.s * view.s / Math.max(s.F, 1);
    const edgeWidth = Math.min(1.2, Math.max(0.35, 0.2 * Math.sqrt(pxArea)));
    if (show.fill) fillRegions(s, vis);
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    const layers = s.meta.layers.filter((l) => l.code > 0 && show.layers[l.index] !== false);
    if (layers.length) {
      const paths = new Map(layers.map((l) => [l.code, new Path2D()]));
      const xy = s.xy, rv = s.rv, off = s.off, side = s.side;
      for (let f = 0; f < s.F; f++) {
        if (vis && !vis[f]) continue;
        for (let i = off[f], n = off[f + 1]; i < n; i++) {
          const p = paths.get(side[i]);
          if (!p) continue;
          const j = i + 1 < n ? i + 1 : off[f];
          if (rv[i] > rv[j]) continue; // an inner edge is a side of two regions: draw it once
          p.moveTo(view.tx + view.s * xy[2 * rv[i]], view.ty - view.s * xy[2 * rv[i] + 1]);
          p.lineTo(view.tx + view.s * xy[2 * rv[j]], view.ty - view.s * xy[2 * rv[j] + 1]);
        }
      }
      c.lineWidth = edgeWidth; c.lineCap = "round";
      for (const l of layers) { c.strokeStyle = l.color; c.stroke(paths.get(l.code)); }
    }
    const poly = new Path2D();
    s.meta.polygon.forEach(([x, y], i) => (i ? poly.lineTo(...toScreen(x, y)) : poly.moveTo(...toScreen(x, y))));
    poly.closePath();
    c.strokeStyle = "#333333"; c.lineWidth = 1.5; c.stroke(poly);
    if (show.decision && s.decision.length) {
      const p = new Path2D(), d = s.decision;
      for (let i = 0; i < d.length; i += 4) { p.moveTo(...toScreen(d[i], d[i + 1])); p.lineTo(...toScreen(d[i + 2], d[i + 3])); }
      c.strokeStyle = "#000000"; c.lineWidth = 2.5; c.lineCap = "round"; c.stroke(p);
    }
    drawMarks(c, s);
    rendered = { ...view };
    blit();
    RS.drawMs = performance.now() - t0;
  }
  function drawMarks(c, s) {
    const m = s.meta.marks;
    if (!m) return;
    c.font = "12px sans-serif"; c.textBaseline = "middle";
    m.xy.forEach(([x, y], i) => {
      const [px, py] = toScreen(x, y);
      c.beginPath(); c.arc(px, py, 5, 0, 2 * Math.PI);
      c.fillStyle = m.colors[i]; c.fill(); c.strokeStyle = "#000"; c.lineWidth = 1; c.stroke();
      if (m.labels) {
        c.lineWidth = 3; c.strokeStyle = "#fff"; c.strokeText(m.labels[i], px + 8, py - 8);
        c.fillStyle = "#000"; c.fillText(m.labels[i], px + 8, py - 8);
      }
    });
  }
  function blit() {
    // the last full drawing, moved and scaled to the current view (fast, while panning or zooming)
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    const k = view.s / rendered.s;
    ctx.setTransform(k, 0, 0, k, (view.tx - k * rendered.tx) * dpr, (view.ty - k * rendered.ty) * dpr);
    ctx.drawImage(buffer, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    drawHover();
  }
  function redrawSoon() {
    blit();
    clearTimeout(fullTimer);
    fullTimer = setTimeout(drawFull, 120);
  }
  function drawHover() {
    hctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    hctx.clearRect(0, 0, width, height);
    if (hovered < 0) return;
    const p = new Path2D();
    polygonPath(p, cur, hovered);
    hctx.lineJoin = "round";
    hctx.strokeStyle = "#ffffff"; hctx.lineWidth = 4; hctx.stroke(p);
    hctx.strokeStyle = "#000000"; hctx.lineWidth = 1.5; hctx.stroke(p);
  }

  // ---------------------------------------------------------------- the info panel
  const fmt = (v) => (Number.isInteger(v) ? String(v) : Number(v).toPrecision(6));
  const esc = (t) => String(t).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
  function layerPattern(s, li, f) {
    const layer = s.meta.layers[li], P = layer.pattern, data = s.patterns[li], k = P.units;
    const vals = new Array(k);
    if (P.kind === "bits") {
      const nb = Math.ceil(k / 8);
      for (let u = 0; u < k; u++) vals[u] = (data[f * nb + (u >> 3)] >> (u & 7)) & 1;
    } else {
      for (let u = 0; u < k; u++) vals[u] = data[f * k + u] + P.offset;
    }
    return vals;
  }
  function className(s, k) {
    const name = s.meta.class_names[k];
    return name && name !== `class ${k}` ? `class ${k} (${esc(name)})` : `class ${k}`;
  }
  function summary(layer, vals, s) {
    if (layer.pattern.kind === "bits") {
      const on = vals.reduce((a, b) => a + b, 0);
      return `${on} / ${vals.length} on`;
    }
    if (layer.type === "Argmax" && vals.length === 1) return className(s, vals[0]);
    if (layer.type === "HardTanh") {
      const n = [0, 0, 0]; vals.forEach((v) => n[v]++);
      return `${n[0]} below, ${n[1]} linear, ${n[2]} above`;
    }
    return `${vals.length} units`;
  }
  function showInfo(f, x, y) {
    const box = $("rs-info");
    if (f < 0) { box.innerHTML = "Outside the domain."; box.dataset.region = "-1"; return; }
    const s = cur, m = s.meta.shown_outputs, q = 2 * m;
    const rows = [`<tr><td>region</td><td data-field="region">${f}</td></tr>`,
      `<tr><td>area</td><td data-field="area" data-value="${area(s, f)}">${fmt(area(s, f))}</td></tr>`];
    const out = [];
    for (let j = 0; j < m; j++) out.push(s.A[f * q + 2 * j] * x + s.A[f * q + 2 * j + 1] * y + s.c[f * m + j]);
    if (m && m === s.meta.outputs) {
      const cls = m === 1 ? (out[0] > 0 ? 1 : 0) : out.indexOf(Math.max(...out));
      rows.push(`<tr><td>class here</td><td data-field="class" data-value="${cls}">${className(s, cls)}</td></tr>`);
    }
    if (m) rows.push(`<tr><td>output here</td><td data-field="output">${out.map(fmt).join(", ")}</td></tr>`);
    s.meta.layers.forEach((layer, li) => {
      const vals = layerPattern(s, li, f);
      const full = layer.pattern.kind === "bits" ? vals.join("") : vals.join(",");
      rows.push(`<tr><td>${esc(layer.label)}</td><td>${summary(layer, vals, s)}<details><summary>pattern</summary>` +
        `<code data-layer="${layer.index}">${full}</code></details></td></tr>`);
    });
    if (m) {
      const maps = [];
      for (let j = 0; j < m; j++) {
        const a0 = s.A[f * q + 2 * j], a1 = s.A[f * q + 2 * j + 1], c0 = s.c[f * m + j];
        maps.push([a0, a1, c0]);
      }
      const head = "<tr><th></th><th>·u₁</th><th>·u₂</th><th>+</th></tr>";
      const text = `<table class="rs-map">${head}` + maps.map((row, j) =>
        `<tr><th>out${j}</th>${row.map((v) => `<td>${fmt(v)}</td>`).join("")}</tr>`).join("") + "</table>";
      const more = s.meta.outputs > m ? `<br>(first ${m} of ${s.meta.outputs} outputs)` : "";
      rows.push(`<tr><td>affine map</td><td data-field="affine" data-value='${JSON.stringify(maps)}'>${text}${more}</td></tr>`);
    }
    box.innerHTML = `<table>${rows.join("")}</table>`;
    box.dataset.region = String(f);
  }

  // ---------------------------------------------------------------- controls
  function buildControls() {
    const s = cur, t = $("rs-toggles");
    const row = (html) => { const d = document.createElement("label"); d.className = "rs-row"; d.innerHTML = html; t.appendChild(d); return d; };
    t.innerHTML = "";
    row(`<input type="checkbox" data-toggle="fill" ${show.fill ? "checked" : ""}> region colours`);
    for (const l of s.meta.layers) {
      if (l.code <= 0) continue;
      row(`<input type="checkbox" data-toggle="layer" data-layer="${l.index}" ${show.layers[l.index] !== false ? "checked" : ""}>` +
        `<span class="rs-line" style="border-color:${l.color}"></span> edges of ${esc(l.label)}`);
    }
    if (s.decision.length)
      row(`<input type="checkbox" data-toggle="decision" ${show.decision ? "checked" : ""}><span class="rs-line"></span> decision boundary`);
    t.querySelectorAll("input").forEach((inp) => inp.addEventListener("change", () => {
      if (inp.dataset.toggle === "fill") show.fill = inp.checked;
      else if (inp.dataset.toggle === "decision") show.decision = inp.checked;
      else show.layers[inp.dataset.layer] = inp.checked;
      drawFull();
    }));
    const lg = $("rs-legend"), parts = [];
    if (s.meta.legend && s.meta.legend.length) {
      parts.push("<h2>Classes</h2>");
      for (const e of s.meta.legend) parts.push(`<div class="rs-row"><span class="rs-sw" style="background:${e.color}"></span>${esc(e.label)}</div>`);
    }
    const v = s.meta.values;
    if (v) {
      parts.push(`<h2>${esc(v.label)}</h2><div id="rs-bar" style="background:linear-gradient(to right,${v.stops.join(",")})"></div>` +
        `<div class="rs-row" style="justify-content:space-between"><span>${fmt(v.vmin)}</span><span>${fmt(v.vmax)}</span></div>`);
    }
    lg.innerHTML = parts.join("");
    $("rs-domain").textContent = `${s.meta.domain}: ${s.F} regions`;
  }
  async function setStep(k) {
    const s = await loadStep(k);
    cur = s; RS.step = k;
    $("rs-step-label").textContent = `step ${s.meta.label} (${k + 1} of ${DATA.steps.length})`;
    $("rs-step").value = String(k);
    if (!view) fit();
    buildControls();
    drawFull();
    if (pointer) hoverAt(pointer[0], pointer[1]);
  }
  function hoverAt(px, py) {
    pointer = [px, py];
    const [x, y] = toDomain(px, py);
    $("rs-coords").textContent = `u = (${x.toPrecision(5)}, ${y.toPrecision(5)})`;
    const f = locateIn(cur, x, y);
    RS.hovered = f;
    if (f !== hovered) { hovered = f; drawHover(); }
    showInfo(f, x, y);
  }
  function zoomAt(px, py, factor) {
    const [x, y] = toDomain(px, py);
    view.s *= factor; view.tx = px - view.s * x; view.ty = py + view.s * y;
    redrawSoon();
  }
  function listen() {
    stage.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
      hoverAt(e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    stage.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, tx: view.tx, ty: view.ty };
      stage.setPointerCapture(e.pointerId);
    });
    stage.addEventListener("pointermove", (e) => {
      const r = stage.getBoundingClientRect();
      if (drag) {
        view.tx = drag.tx + e.clientX - drag.x; view.ty = drag.ty + e.clientY - drag.y;
        blit();
      }
      hoverAt(e.clientX - r.left, e.clientY - r.top);
    });
    const end = () => { if (drag) { drag = null; drawFull(); } };
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);
    stage.addEventListener("dblclick", () => { fit(); drawFull(); });
    $("rs-zoom-in").addEventListener("click", () => zoomAt(width / 2, height / 2, 1.5));
    $("rs-zoom-out").addEventListener("click", () => zoomAt(width / 2, height / 2, 1 / 1.5));
    $("rs-fit").addEventListener("click", () => { fit(); drawFull(); });
    $("rs-step").addEventListener("input", (e) => setStep(Number(e.target.value)));
    window.addEventListener("resize", () => { resize(); drawFull(); });
  }

  // ---------------------------------------------------------------- start
  RS.locate = (x, y) => locateIn(cur, x, y);
  RS.toScreen = (x, y) => { const r = stage.getBoundingClientRect(), [px, py] = toScreen(x, y); return [r.left + px, r.top + py]; };
  RS.toDomain = (cx, cy) => { const r = stage.getBoundingClientRect(); return toDomain(cx - r.left, cy - r.top); };
  RS.setStep = setStep;
  RS.view = () => ({ ...view });
  (async function start() {
    try {
      if (DATA.steps.length > 1) {
        $("rs-steps").hidden = false;
        $("rs-step").max = String(DATA.steps.length - 1);
      }
      resize();
      listen();
      await setStep(0);
      $("rs-status").textContent = "";
      RS.loadMs = performance.now();
      RS.timings = { ...cur.timings, draw: RS.drawMs };
      RS.ready = true;
    } catch (err) {
      RS.error = String(err && err.stack || err);
      $("rs-status").textContent = "error: " + err;
      throw err;
    }
  })();
})();
