// dsim view: draws a run's space-time diagram from the JSON embedded in the page.
// Hand-written, no dependencies. The data format is documented in reports/src/view/mod.rs.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("dsim-data").textContent);
  var M = { SENT: 0, FROM: 1, TO: 2, ARRIVE: 3, KIND: 4, FATE: 5, HANDLED: 6, REASON: 7, DUP: 8, TEXT: 9 };
  var FATE = { DELIVERED: 0, HELD: 1, DROPPED_AT_SEND: 2, DROPPED_ON_ARRIVAL: 3, IN_FLIGHT: 4 };

  // Layout, in CSS pixels.
  var GUTTER = 118, AXIS = 34, LANE = 40, OP_LANE = 20, HISTORY_GAP = 30, RIGHT = 16;
  // Lanes shrink to keep the canvas within what browsers draw (thousands of nodes).
  var LANES_HEIGHT_MAX = 12000, OPS_HEIGHT_MAX = 6000;
  // Above this many messages in view, lanes show how busy they are instead of arrows.
  var DENSE = 6000;
  // Below this many in view, arrows carry their kind as text.
  var LABELLED = 400;
  var SPAN_MIN_NS = 1000;

  var PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f",
    "#b8a600", "#8c564b", "#1f3f8f", "#9a2f6e", "#2f7f5f"];
  function kindColor(k) { return PALETTE[k % PALETTE.length]; }

  var messages = D.messages, faults = D.faults, spans = D.spans, notes = D.notes;
  var operations = D.operations || [], clients = D.clients || [];
  var win = D.window;
  // The longest a message is on its way: how far back a view must look for arrows into it.
  var reach = 0;
  messages.forEach(function (m) {
    var end = Math.max(m[M.ARRIVE], m[M.HANDLED] == null ? 0 : m[M.HANDLED]);
    reach = Math.max(reach, end - m[M.SENT]);
  });
  var faultOrder = faults.map(function (f, i) { return i; });
  // What "the whole run" means on this page: the window, and the arrows that leave it.
  var extent = { from: win.from_ns, to: Math.max(win.to_ns, win.from_ns + SPAN_MIN_NS) };
  messages.forEach(function (m) { if (m[M.ARRIVE] > extent.to) extent.to = m[M.ARRIVE]; });
  operations.forEach(function (op) { if (op[2] != null && op[2] > extent.to) extent.to = op[2]; });

  var state = {
    from: 0, to: 1,
    selected: null, hover: null, node: null,
    hiddenNodes: {}, hiddenKinds: {},
    dense: false, visible: 0, draws: 0
  };

  var canvas = document.getElementById("canvas");
  var ctx = canvas.getContext("2d");
  var tip = document.getElementById("tip");
  var width = 0, height = 0;

  // ---- text -------------------------------------------------------------------------------

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[c];
    });
  }
  function group3(digits) { return digits.replace(/(\d{3})(?=\d)/g, "$1\u2009"); }
  // An instant of virtual time, with as many decimals of a second as `stepNs` needs.
  function fmtTime(ns, stepNs) {
    if (ns < 0) return "−" + fmtTime(-ns, stepNs);
    var decimals = 0;
    while (decimals < 9 && stepNs < Math.pow(10, 9 - decimals) - 1e-6) decimals++;
    var whole = Math.floor(ns / 1e9);
    var frac = Math.round(ns - whole * 1e9);
    if (decimals === 0) return (whole + (frac >= 5e8 ? 1 : 0)) + " s";
    var f = String(frac).padStart(9, "0").slice(0, decimals);
    return whole + "." + group3(f) + " s";
  }
  // A length of virtual time in its natural unit.
  function fmtDur(ns) {
    var a = Math.abs(ns);
    if (a >= 1e9) return +(ns / 1e9).toPrecision(4) + " s";
    if (a >= 1e6) return +(ns / 1e6).toPrecision(4) + " ms";
    if (a >= 1e3) return +(ns / 1e3).toPrecision(4) + " µs";
    return Math.round(ns) + " ns";
  }
  function exact(ns) { return fmtTime(ns, 1); }
  function nodeName(i) { return i < 0 || i == null ? "network" : D.nodes[i]; }

  // ---- geometry -----------------------------------------------------------------------------

  var lanes = [];     // visible node -> row
  var laneOf = [];    // node -> row index or -1
  function layoutLanes() {
    lanes = [];
    laneOf = D.nodes.map(function () { return -1; });
    D.nodes.forEach(function (n, i) {
      if (!state.hiddenNodes[i]) { laneOf[i] = lanes.length; lanes.push(i); }
    });
    LANE = Math.max(1, Math.min(40, Math.floor(LANES_HEIGHT_MAX / Math.max(1, lanes.length))));
    OP_LANE = Math.max(1, Math.min(20, Math.floor(OPS_HEIGHT_MAX / Math.max(1, clients.length))));
  }
  function laneY(node) { return AXIS + LANE / 2 + laneOf[node] * LANE; }
  function historyTop() { return AXIS + lanes.length * LANE + HISTORY_GAP; }
  function opY(lane) { return historyTop() + lane * OP_LANE; }
  function plotWidth() { return Math.max(10, width - GUTTER - RIGHT); }
  function x(ns) { return GUTTER + (ns - state.from) / (state.to - state.from) * plotWidth(); }
  function timeAt(px) { return state.from + (px - GUTTER) / plotWidth() * (state.to - state.from); }

  function shown(m) {
    return laneOf[m[M.FROM]] >= 0 && laneOf[m[M.TO]] >= 0 && !state.hiddenKinds[m[M.KIND]];
  }
  function messageEnd(m) {
    return m[M.FATE] === FATE.HELD ? m[M.HANDLED] : m[M.ARRIVE];
  }
  // Indices of the messages that may cross the view: binary search on send time.
  function firstSentAtOrAfter(t) {
    var lo = 0, hi = messages.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (messages[mid][M.SENT] < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  function forVisible(f) {
    var start = firstSentAtOrAfter(state.from - reach);
    for (var i = start; i < messages.length; i++) {
      var m = messages[i];
      if (m[M.SENT] > state.to) break;
      if (messageEnd(m) < state.from || !shown(m)) continue;
      f(m, i);
    }
  }

  // ---- drawing ------------------------------------------------------------------------------

  function resize() {
    var stage = document.getElementById("stage");
    var ratio = window.devicePixelRatio || 1;
    width = stage.clientWidth;
    var wanted = historyTop() + clients.length * OP_LANE + (clients.length ? 36 : 8);
    height = Math.max(stage.clientHeight, wanted);
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    draw();
  }

  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw) return Math.max(1, steps[i] * p);
    return 10 * p;
  }

  function drawAxis() {
    var step = niceStep((state.to - state.from) * 110 / plotWidth());
    ctx.fillStyle = "#4a5560";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    var first = Math.ceil(state.from / step) * step;
    for (var t = first; t <= state.to; t += step) {
      var px = Math.round(x(t)) + 0.5;
      ctx.strokeStyle = "#e6e9ed";
      ctx.beginPath(); ctx.moveTo(px, AXIS - 4); ctx.lineTo(px, height); ctx.stroke();
      ctx.fillText(fmtTime(t, step), px, AXIS / 2);
    }
    ctx.strokeStyle = "#c3c9d1";
    ctx.beginPath(); ctx.moveTo(GUTTER, AXIS - 0.5); ctx.lineTo(width - RIGHT, AXIS - 0.5); ctx.stroke();
  }

  // Partitions in force together: each label on a row of its own.
  var labelRow = spans.map(function (s, i) {
    if (s[3] !== "partition") return 0;
    var row = 0;
    for (var j = 0; j < i; j++) {
      if (spans[j][3] === "partition" && spans[j][1] <= s[1] && spans[j][2] > s[1]) row++;
    }
    return row;
  });

  function drawSpans() {
    spans.forEach(function (s, i) {
      var a = x(s[1]), b = x(s[2]);
      if (b < GUTTER || a > width) return;
      a = Math.max(a, GUTTER); b = Math.min(b, width - RIGHT);
      if (s[3] === "partition") {
        ctx.fillStyle = "rgba(255, 205, 110, 0.16)";
        ctx.fillRect(a, AXIS, Math.max(1, b - a), lanes.length * LANE);
        ctx.font = "11px system-ui, sans-serif";
        if (ctx.measureText(s[4]).width + 6 < b - a) {
          ctx.fillStyle = "#8a5a00";
          ctx.textAlign = "left";
          ctx.textBaseline = "top";
          ctx.fillText(s[4], a + 3, AXIS + 2 + 13 * labelRow[i]);
        }
      } else if (laneOf[s[0]] >= 0) {
        var y = laneY(s[0]);
        ctx.fillStyle = s[3] === "crash" ? "rgba(220, 60, 40, 0.26)" : "rgba(110, 110, 110, 0.24)";
        ctx.fillRect(a, y - 11, Math.max(1, b - a), 22);
        if (b - a > 60) {
          ctx.fillStyle = s[3] === "crash" ? "#9b1c0c" : "#444";
          ctx.font = "11px system-ui, sans-serif";
          ctx.textAlign = "left";
          ctx.textBaseline = "middle";
          ctx.fillText(s[3] === "crash" ? "crashed" : "paused", a + 4, y - 15);
        }
      }
      if (isSelected("span", i)) {
        ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
        var top = s[3] === "partition" ? AXIS : laneY(s[0]) - 11;
        var h = s[3] === "partition" ? lanes.length * LANE : 22;
        ctx.strokeRect(a, top, b - a, h); ctx.lineWidth = 1;
      }
    });
  }

  function drawLanes() {
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    lanes.forEach(function (node) {
      var y = Math.round(laneY(node)) + 0.5;
      if (LANE < 4 && state.node !== node) return;
      ctx.strokeStyle = state.node === node ? "#0060a8" : "#b9c0c8";
      ctx.lineWidth = state.node === node ? 2 : 1;
      ctx.beginPath(); ctx.moveTo(GUTTER, y); ctx.lineTo(width - RIGHT, y); ctx.stroke();
      ctx.lineWidth = 1;
      if (LANE < 12 && state.node !== node) return;
      ctx.fillStyle = state.node === node ? "#0060a8" : "#1d232a";
      ctx.font = (state.node === node ? "bold " : "") + "12px system-ui, sans-serif";
      ctx.fillText(D.nodes[node], GUTTER - 10, y);
    });
  }

  function cross(px, py, r, color) {
    ctx.strokeStyle = color; ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px - r, py - r); ctx.lineTo(px + r, py + r);
    ctx.moveTo(px - r, py + r); ctx.lineTo(px + r, py - r);
    ctx.stroke(); ctx.lineWidth = 1;
  }

  function arrowHead(x0, y0, x1, y1, color) {
    var a = Math.atan2(y1 - y0, x1 - x0), r = 6;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - r * Math.cos(a - 0.4), y1 - r * Math.sin(a - 0.4));
    ctx.lineTo(x1 - r * Math.cos(a + 0.4), y1 - r * Math.sin(a + 0.4));
    ctx.closePath(); ctx.fill();
  }

  // The geometry of a message's arrow: [x0, y0, x1, y1].
  function segment(m) {
    var x0 = x(m[M.SENT]), y0 = laneY(m[M.FROM]), y1 = laneY(m[M.TO]);
    if (m[M.FATE] === FATE.DROPPED_AT_SEND) {
      // A stub towards its receiver: it never left.
      var dir = y1 > y0 ? 1 : -1;
      return [x0, y0, x0 + 10, y0 + dir * Math.min(14, Math.abs(y1 - y0) / 2)];
    }
    return [x0, y0, x(m[M.ARRIVE]), y1];
  }

  function drawMessage(m, i, labelled, emphasis) {
    var s = segment(m);
    var color = kindColor(m[M.KIND]);
    var fate = m[M.FATE];
    ctx.strokeStyle = color;
    ctx.globalAlpha = emphasis ? 1 : 0.85;
    ctx.lineWidth = emphasis ? 3 : 1.3;
    if (fate === FATE.IN_FLIGHT || m[M.DUP]) ctx.setLineDash([5, 4]);
    ctx.beginPath(); ctx.moveTo(s[0], s[1]); ctx.lineTo(s[2], s[3]); ctx.stroke();
    ctx.setLineDash([]);
    if (fate === FATE.DELIVERED || fate === FATE.HELD) arrowHead(s[0], s[1], s[2], s[3], color);
    if (fate === FATE.HELD) {
      // Held while the receiver was paused: waits on its lane until the resume.
      var xh = x(m[M.HANDLED]);
      ctx.setLineDash([2, 3]);
      ctx.beginPath(); ctx.moveTo(s[2], s[3]); ctx.lineTo(xh, s[3]); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.beginPath(); ctx.arc(xh, s[3], 3, 0, 7); ctx.fill();
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
    if (fate === FATE.DROPPED_AT_SEND || fate === FATE.DROPPED_ON_ARRIVAL) cross(s[2], s[3], 5, "#d11");
    if (labelled && Math.hypot(s[2] - s[0], s[3] - s[1]) > 30) {
      var lx = s[0] + (s[2] - s[0]) * 0.3, ly = s[1] + (s[3] - s[1]) * 0.3;
      var label = D.kinds[m[M.KIND]];
      ctx.font = "11px system-ui, sans-serif";
      var w = ctx.measureText(label).width;
      // Only where it does not cover another label.
      var box = [lx + 3, ly - 7, lx + 7 + w, ly + 7];
      if (labelled !== true) {
        for (var b = 0; b < labelled.length; b++) {
          var o = labelled[b];
          if (box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3]) return;
        }
        labelled.push(box);
      }
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(lx + 3, ly - 7, w + 4, 14);
      ctx.fillStyle = color;
      ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(label, lx + 5, ly);
    }
  }

  // How busy each lane is, column by column: the picture when arrows would be ink.
  function drawDensity() {
    var cols = Math.ceil(plotWidth() / 2);
    var counts = {};
    var max = 1;
    forVisible(function (m) {
      var c = Math.floor((x(m[M.SENT]) - GUTTER) / 2);
      if (c < 0 || c >= cols) return;
      var key = m[M.FROM] * cols + c;
      var n = (counts[key] || 0) + 1;
      counts[key] = n;
      if (n > max) max = n;
    });
    Object.keys(counts).forEach(function (key) {
      var node = Math.floor(key / cols), c = key % cols;
      var v = Math.sqrt(counts[key] / max);
      ctx.fillStyle = "rgba(0, 96, 168, " + (0.15 + 0.75 * v).toFixed(3) + ")";
      var y = laneY(node);
      var h = Math.max(1, Math.min(18, LANE - 2));
      ctx.fillRect(GUTTER + c * 2, y - h / 2, 2, h);
    });
    ctx.fillStyle = "#4a5560";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right"; ctx.textBaseline = "bottom";
    ctx.fillText(state.visible.toLocaleString("en") + " messages in view: shown as how often each node sends; zoom in for arrows",
      width - RIGHT - 4, height - 6);
  }

  function drawMessages() {
    var count = 0;
    forVisible(function () { count++; });
    state.visible = count;
    state.dense = count > DENSE;
    if (state.dense) { drawDensity(); return; }
    var labelled = count <= LABELLED ? [] : false;
    forVisible(function (m, i) { drawMessage(m, i, labelled, false); });
    var sel = state.selected;
    if (sel && sel.type === "message" && shown(messages[sel.index])) drawMessage(messages[sel.index], sel.index, true, true);
    if (state.hover && state.hover.type === "message" && !isSelected("message", state.hover.index)) {
      drawMessage(messages[state.hover.index], state.hover.index, true, true);
    }
  }

  function faultY(f) { return f[1] >= 0 ? (laneOf[f[1]] >= 0 ? laneY(f[1]) : null) : AXIS + 7; }

  function drawFaults() {
    faults.forEach(function (f, i) {
      var px = x(f[0]);
      if (px < GUTTER - 8 || px > width) return;
      var py = faultY(f);
      if (py == null) return;
      var color = { crash: "#c0200f", restart: "#1b6b3a", pause: "#555", resume: "#1b6b3a",
        partition: "#b36b00", partition_one_way: "#b36b00", heal: "#1b6b3a",
        clock_jump: "#6a2bb3", clock_drift: "#6a2bb3" }[f[2]] || "#0b5394";
      var r = isSelected("fault", i) ? 7 : 5;
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.moveTo(px, py - r); ctx.lineTo(px + r, py); ctx.lineTo(px, py + r); ctx.lineTo(px - r, py);
      ctx.closePath(); ctx.fill();
      if (f[2] === "clock_jump" || f[2] === "clock_drift") {
        ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
        ctx.fillText(f[2] === "clock_jump" ? "clock jump" : "clock drift", px + 6, py - 4);
      }
      if (isSelected("fault", i)) { ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.stroke(); ctx.lineWidth = 1; }
    });
  }

  function drawViolation() {
    var v = D.violation;
    if (!v) return;
    var px = x(v.t_ns);
    if (px < GUTTER || px > width - RIGHT + 1) return;
    ctx.strokeStyle = "#d00"; ctx.lineWidth = isSelected("violation", 0) ? 3 : 2;
    ctx.beginPath(); ctx.moveTo(px, AXIS); ctx.lineTo(px, AXIS + lanes.length * LANE); ctx.stroke();
    ctx.lineWidth = 1;
    var py = v.node >= 0 && laneOf[v.node] >= 0 ? laneY(v.node) : AXIS + 12;
    ctx.fillStyle = "#d00";
    ctx.beginPath(); ctx.moveTo(px, py - 9); ctx.lineTo(px + 8, py + 6); ctx.lineTo(px - 8, py + 6); ctx.closePath(); ctx.fill();
    ctx.font = "bold 12px system-ui, sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "bottom";
    ctx.fillText(v.invariant + " violated", px - 10, py - 6);
  }

  function opColor(op) {
    return { ok: "#2e8b57", fail: "#9aa3ab", info: "#e69f00", open: "#e69f00" }[op[3]] || "#2e8b57";
  }

  function drawClientNames() {
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    if (OP_LANE < 11) return;
    clients.forEach(function (name, lane) {
      ctx.fillStyle = "#4a5560";
      ctx.fillText(name, GUTTER - 10, opY(lane) + OP_LANE / 2);
    });
  }

  function drawHistory() {
    if (!clients.length) return;
    var top = historyTop();
    ctx.fillStyle = "#1d232a";
    ctx.font = "bold 12px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
    var h = D.history;
    var verdict = h ? (h.verdict === "violated" ? "NOT linearizable" : h.verdict === "held" ? "linearizable" : h.verdict) : "";
    ctx.fillText("client operations" + (h ? " · " + verdict : ""), GUTTER + 2, top - 8);
    operations.forEach(function (op, i) {
      var a = x(op[1]);
      var end = op[2] == null ? state.to : op[2];
      var b = x(end);
      if (b < GUTTER || a > width) return;
      a = Math.max(a, GUTTER - 2); b = Math.min(Math.max(b, a + 2), width - RIGHT + 2);
      var y = opY(op[0]) + 3, hgt = OP_LANE - 6;
      ctx.fillStyle = opColor(op);
      ctx.globalAlpha = op[3] === "open" ? 0.45 : 0.8;
      ctx.fillRect(a, y, b - a, hgt);
      ctx.globalAlpha = 1;
      if (op[5] === 1 || op[5] === 2 || isSelected("operation", i)) {
        ctx.strokeStyle = op[5] === 1 ? "#d00" : "#111";
        ctx.lineWidth = op[5] === 1 || isSelected("operation", i) ? 2.5 : 1.2;
        ctx.strokeRect(a, y, b - a, hgt);
        ctx.lineWidth = 1;
      }
      if (b - a > 60) {
        ctx.fillStyle = "#fff"; ctx.font = "10px system-ui, sans-serif";
        ctx.textAlign = "left"; ctx.textBaseline = "middle";
        var label = op[4].replace(/^process \d+ /, "");
        ctx.save(); ctx.beginPath(); ctx.rect(a, y, b - a, hgt); ctx.clip();
        ctx.fillText(label, a + 3, y + hgt / 2); ctx.restore();
      }
    });
  }

  function draw() {
    if (!width) return;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
    drawAxis();
    ctx.save();
    ctx.beginPath(); ctx.rect(GUTTER, 0, width - GUTTER - RIGHT + 2, height); ctx.clip();
    drawSpans();
    ctx.restore();
    drawLanes();
    drawClientNames();
    ctx.save();
    ctx.beginPath(); ctx.rect(GUTTER - 8, AXIS, width - GUTTER - RIGHT + 10, height); ctx.clip();
    drawMessages();
    drawFaults();
    drawViolation();
    drawHistory();
    ctx.restore();
    state.draws++;
    document.getElementById("span").textContent =
      fmtTime(state.from, (state.to - state.from) / 10) + " – " + fmtTime(state.to, (state.to - state.from) / 10) +
      "  (" + fmtDur(state.to - state.from) + " across)";
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  // ---- view changes -------------------------------------------------------------------------

  function setView(from, to) {
    var whole = extent.to - extent.from;
    var span = Math.max(SPAN_MIN_NS, Math.min(to - from, Math.max(whole, SPAN_MIN_NS) * 1.2));
    var mid = (from + to) / 2;
    from = mid - span / 2;
    var lo = extent.from - span * 0.5, hi = extent.to + span * 0.5;
    from = Math.min(Math.max(from, lo), hi - span);
    state.from = from; state.to = from + span;
    redraw();
  }
  function zoomBy(factor, at) {
    if (at == null) at = (state.from + state.to) / 2;
    var span = Math.max(SPAN_MIN_NS, (state.to - state.from) * factor);
    var left = (at - state.from) / (state.to - state.from);
    setView(at - left * span, at - left * span + span);
  }
  function panBy(fraction) {
    var d = (state.to - state.from) * fraction;
    setView(state.from + d, state.to + d);
  }
  function fit() {
    var pad = (extent.to - extent.from) * 0.01;
    setView(extent.from - pad, extent.to + pad);
  }
  // Scrolls the diagram so that height y (a lane) is in sight.
  function reveal(y) {
    var stage = document.getElementById("stage");
    if (y < stage.scrollTop + AXIS || y > stage.scrollTop + stage.clientHeight - 20) {
      stage.scrollTop = Math.max(0, y - stage.clientHeight / 2);
    }
  }
  function centerOn(t, span) {
    span = span || (state.to - state.from);
    setView(t - span / 2, t + span / 2);
  }

  // ---- selection and details ----------------------------------------------------------------

  function isSelected(type, i) { return state.selected && state.selected.type === type && state.selected.index === i; }

  function row(k, v) { return "<tr><td>" + esc(k) + "</td><td>" + v + "</td></tr>"; }
  function fateText(m) {
    switch (m[M.FATE]) {
      case FATE.DELIVERED: return "delivered at " + esc(exact(m[M.ARRIVE])) + " after " + esc(fmtDur(m[M.ARRIVE] - m[M.SENT]));
      case FATE.HELD: return "arrived at " + esc(exact(m[M.ARRIVE])) + " while " + esc(nodeName(m[M.TO])) +
        " was paused; delivered when it resumed, at " + esc(exact(m[M.HANDLED]));
      case FATE.DROPPED_AT_SEND: return "<b>dropped when sent</b> (" + esc(m[M.REASON]) + ")";
      case FATE.DROPPED_ON_ARRIVAL: return "<b>dropped on arrival</b> at " + esc(exact(m[M.ARRIVE])) + " (" + esc(m[M.REASON]) + ")";
      default: return "still on its way at the window's end (due at " + esc(exact(m[M.ARRIVE])) + ")";
    }
  }
  function details() {
    var el = document.getElementById("details");
    var s = state.selected;
    if (!s) {
      el.innerHTML = "<p class=\"hint\">Click a message, a fault, a crash or pause, an operation, or the violation.</p>";
      return;
    }
    var html = "";
    if (s.type === "message") {
      var m = messages[s.index];
      html = "<div class=\"what\" style=\"color:" + kindColor(m[M.KIND]) + "\">" + esc(D.kinds[m[M.KIND]]) +
        (m[M.DUP] ? " (the network's duplicate)" : "") + "</div><table>" +
        row("from", esc(nodeName(m[M.FROM]))) + row("to", esc(nodeName(m[M.TO]))) +
        row("sent", esc(exact(m[M.SENT]))) + row("fate", fateText(m)) + "</table><pre>" + esc(m[M.TEXT]) + "</pre>";
    } else if (s.type === "fault") {
      var f = faults[s.index];
      html = "<div class=\"what\">" + esc(f[2].replace(/_/g, " ")) + "</div><table>" +
        row("at", esc(exact(f[0]))) + row("on", esc(nodeName(f[1]))) + row("what", esc(f[3])) +
        (f[4] ? row("by", esc(f[4])) : "") + "</table>";
    } else if (s.type === "span") {
      var sp = spans[s.index];
      html = "<div class=\"what\">" + esc(sp[3] === "partition" ? "partition" : nodeName(sp[0]) + (sp[3] === "crash" ? " crashed" : " paused")) +
        "</div><table>" + row("from", esc(exact(sp[1]))) + row("to", esc(exact(sp[2]))) +
        row("for", esc(fmtDur(sp[2] - sp[1]))) + row("what", esc(sp[4])) + "</table>";
    } else if (s.type === "operation") {
      var op = operations[s.index];
      html = "<div class=\"what\">" + esc(clients[op[0]]) + "</div><table>" +
        row("invoked", esc(exact(op[1]))) +
        row("completed", op[2] == null ? "not by the window's end" : esc(exact(op[2])) + " (" + esc(op[3]) + ", after " + esc(fmtDur(op[2] - op[1])) + ")") +
        (op[5] === 1 ? row("verdict", "<b style=\"color:#d00\">cannot be placed in any order</b>") : "") +
        (op[5] === 2 ? row("verdict", "concurrent with the one that cannot be placed") : "") +
        "</table><pre>" + esc(op[4]) + "</pre>" +
        (op[5] === 1 && D.violation ? "<div class=\"what\" style=\"color:#d00\">linearizable violated</div><pre>" + esc(D.violation.message) + "</pre>" : "");
    } else if (s.type === "violation") {
      var v = D.violation;
      html = "<div class=\"what\" style=\"color:#d00\">" + esc(v.invariant) + " violated</div><table>" +
        row("at", esc(exact(v.t_ns))) + row("on", esc(v.node >= 0 ? D.nodes[v.node] : "the cluster")) +
        "</table><pre>" + esc(v.message) + "</pre>";
    }
    el.innerHTML = html;
  }
  function select(type, index) {
    state.selected = type == null ? null : { type: type, index: index };
    details();
    markCurrentEvent();
    redraw();
  }

  // The selected node's events, in order.
  var EVENTS_MAX = 3000;
  var nodeEvents = [];
  function selectNode(node) {
    state.node = node;
    var list = document.getElementById("events");
    var title = document.getElementById("events-title");
    nodeEvents = [];
    if (node == null) {
      title.textContent = "Events";
      list.innerHTML = "<div class=\"more\">Click a node's name for its events in order.</div>";
      redraw();
      return;
    }
    messages.forEach(function (m, i) {
      if (m[M.FROM] === node) nodeEvents.push([m[M.SENT], "send", i, "→ " + nodeName(m[M.TO]) + " " + m[M.TEXT]]);
      if (m[M.TO] === node && m[M.FATE] !== FATE.DROPPED_AT_SEND && m[M.FATE] !== FATE.IN_FLIGHT) {
        var at = m[M.FATE] === FATE.HELD ? m[M.HANDLED] : m[M.ARRIVE];
        var how = m[M.FATE] === FATE.DROPPED_ON_ARRIVAL ? "✕ lost (" + m[M.REASON] + ") " : "← ";
        nodeEvents.push([at, "receive", i, how + nodeName(m[M.FROM]) + " " + m[M.TEXT]]);
      }
    });
    notes.forEach(function (n) { if (n[1] === node) nodeEvents.push([n[0], n[2], -1, n[2] + " " + n[3]]); });
    faults.forEach(function (f, i) { if (f[1] === node) nodeEvents.push([f[0], "fault", i, "⚡ " + f[3]]); });
    operations.forEach(function (op, i) {
      if (D.client_nodes[op[0]] === node) nodeEvents.push([op[1], "operation", i, "▭ " + op[4]]);
    });
    nodeEvents.sort(function (a, b) { return a[0] - b[0]; });
    title.textContent = "Events of " + D.nodes[node] + " (" + nodeEvents.length.toLocaleString("en") + ")";
    var html = [];
    nodeEvents.slice(0, EVENTS_MAX).forEach(function (e, k) {
      html.push("<div class=\"row\" data-k=\"" + k + "\"><span class=\"t\">" + esc(fmtTime(e[0], 1000)) +
        "</span><span class=\"x\">" + esc(e[3]) + "</span></div>");
    });
    if (nodeEvents.length > EVENTS_MAX) {
      html.push("<div class=\"more\">and " + (nodeEvents.length - EVENTS_MAX).toLocaleString("en") +
        " more: zoom in, or view a narrower window (--from/--to)</div>");
    }
    list.innerHTML = html.join("");
    redraw();
  }
  function markCurrentEvent() {
    var rows = document.querySelectorAll("#events .row");
    for (var k = 0; k < rows.length; k++) {
      var e = nodeEvents[+rows[k].getAttribute("data-k")];
      var type = e[1] === "send" || e[1] === "receive" ? "message" : e[1];
      rows[k].classList.toggle("current", !!state.selected && state.selected.type === type && state.selected.index === e[2]);
    }
  }
  document.getElementById("events").addEventListener("click", function (ev) {
    var rowEl = ev.target.closest(".row");
    if (!rowEl) return;
    var e = nodeEvents[+rowEl.getAttribute("data-k")];
    centerOn(e[0]);
    if (e[1] === "send" || e[1] === "receive") select("message", e[2]);
    else if (e[1] === "fault" || e[1] === "operation") select(e[1], e[2]);
  });

  // ---- hit testing --------------------------------------------------------------------------

  function distToSegment(px, py, s) {
    var dx = s[2] - s[0], dy = s[3] - s[1];
    var len = dx * dx + dy * dy;
    var t = len ? Math.max(0, Math.min(1, ((px - s[0]) * dx + (py - s[1]) * dy) / len)) : 0;
    return Math.hypot(px - (s[0] + t * dx), py - (s[1] + t * dy));
  }
  function hit(px, py) {
    if (px < GUTTER - 6) {
      for (var l = 0; l < lanes.length; l++) {
        if (Math.abs(py - laneY(lanes[l])) < LANE / 2) return { type: "node", index: lanes[l] };
      }
      return null;
    }
    var best = null, bestD = 7;
    faults.forEach(function (f, i) {
      var fy = faultY(f);
      if (fy == null) return;
      var d = Math.hypot(px - x(f[0]), py - fy);
      if (d < bestD) { bestD = d; best = { type: "fault", index: i }; }
    });
    if (best) return best;
    if (D.violation) {
      var v = D.violation;
      var vy = v.node >= 0 && laneOf[v.node] >= 0 ? laneY(v.node) : AXIS + 12;
      if (Math.hypot(px - x(v.t_ns), py - vy) < 10) return { type: "violation", index: 0 };
    }
    if (!state.dense) {
      forVisible(function (m, i) {
        var d = distToSegment(px, py, segment(m));
        if (d < bestD) { bestD = d; best = { type: "message", index: i }; }
      });
      if (best) return best;
    }
    if (clients.length && py >= historyTop()) {
      var t = timeAt(px);
      var lane = Math.floor((py - historyTop()) / OP_LANE);
      for (var k = 0; k < operations.length; k++) {
        var op = operations[k];
        var end = op[2] == null ? state.to : op[2];
        var slack = (state.to - state.from) / plotWidth() * 2;
        if (op[0] === lane && t >= op[1] - slack && t <= end + slack) return { type: "operation", index: k };
      }
      return null;
    }
    for (var j = 0; j < spans.length; j++) {
      var sp = spans[j];
      var tt = timeAt(px);
      if (tt < sp[1] || tt > sp[2]) continue;
      if (sp[3] === "partition") { if (py >= AXIS && py <= AXIS + lanes.length * LANE) best = best || { type: "span", index: j }; }
      else if (laneOf[sp[0]] >= 0 && Math.abs(py - laneY(sp[0])) <= 11) return { type: "span", index: j };
    }
    return best;
  }
  function tipText(h) {
    if (h.type === "message") {
      var m = messages[h.index];
      return D.kinds[m[M.KIND]] + ": " + nodeName(m[M.FROM]) + " → " + nodeName(m[M.TO]) + "\nsent " + exact(m[M.SENT]) +
        "\n" + fateText(m).replace(/<[^>]+>/g, "") + "\n" + m[M.TEXT];
    }
    if (h.type === "fault") { var f = faults[h.index]; return exact(f[0]) + "\n" + f[3]; }
    if (h.type === "violation") return D.violation.invariant + " violated at " + exact(D.violation.t_ns);
    if (h.type === "operation") {
      var op = operations[h.index];
      return clients[op[0]] + "\n" + op[4] + "\n" + exact(op[1]) + (op[2] == null ? " – (open)" : " – " + exact(op[2]));
    }
    if (h.type === "span") { var s = spans[h.index]; return s[4] + "\n" + exact(s[1]) + " – " + exact(s[2]); }
    if (h.type === "node") return D.nodes[h.index] + ": click for its events";
    return "";
  }

  // ---- input --------------------------------------------------------------------------------

  function local(ev) {
    var r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var p = local(ev);
    if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      panBy((ev.deltaX || ev.deltaY) / plotWidth());
      return;
    }
    var at = p[0] >= GUTTER ? timeAt(p[0]) : null;
    zoomBy(Math.pow(1.0015, ev.deltaY), at);
  }, { passive: false });

  var drag = null;
  canvas.addEventListener("mousedown", function (ev) {
    var p = local(ev);
    drag = { x: p[0], from: state.from, to: state.to, moved: false };
  });
  window.addEventListener("mousemove", function (ev) {
    var p = local(ev);
    if (drag) {
      var dx = p[0] - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) {
        canvas.classList.add("dragging");
        var d = -dx / plotWidth() * (drag.to - drag.from);
        setView(drag.from + d, drag.to + d);
        tip.style.display = "none";
        return;
      }
    }
    if (ev.target !== canvas) { tip.style.display = "none"; return; }
    var h = hit(p[0], p[1]);
    var changed = JSON.stringify(h) !== JSON.stringify(state.hover);
    state.hover = h;
    if (h) {
      tip.textContent = tipText(h);
      tip.style.display = "block";
      var stage = document.getElementById("stage");
      tip.style.left = Math.min(p[0] + 14, stage.clientWidth - tip.offsetWidth - 4) + "px";
      tip.style.top = (p[1] + 14 - stage.scrollTop) + "px";
    } else {
      tip.style.display = "none";
    }
    if (changed) redraw();
  });
  window.addEventListener("mouseup", function (ev) {
    if (!drag) return;
    var moved = drag.moved;
    drag = null;
    canvas.classList.remove("dragging");
    if (moved || ev.target !== canvas) return;
    var p = local(ev);
    var h = hit(p[0], p[1]);
    if (h && h.type === "node") selectNode(state.node === h.index ? null : h.index);
    else if (h) select(h.type, h.index);
    else select(null);
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; state.hover = null; redraw(); });

  // The operation the linearizability checker could not place, if it named one.
  var culprit = -1;
  operations.forEach(function (op, i) { if (op[5] === 1) culprit = i; });

  function jumpToViolation() {
    if (!D.violation) return;
    if (D.violation.invariant === "linearizable" && culprit >= 0) {
      // Judged at the run's end, about an operation in the middle: go to the operation,
      // with room around it for those concurrent with it.
      var op = operations[culprit];
      var end = op[2] == null ? win.to_ns : op[2];
      var len = Math.max(end - op[1], SPAN_MIN_NS);
      setView(op[1] - len * 4, end + len * 4);
      select("operation", culprit);
      reveal(opY(op[0]));
      return;
    }
    var span = Math.min(state.to - state.from, 200e6);
    // The violation at three quarters across: what led to it is to its left.
    setView(D.violation.t_ns - span * 0.75, D.violation.t_ns + span * 0.25);
    select("violation", 0);
  }
  function stepFault(direction) {
    if (!faults.length) return;
    var current = state.selected && state.selected.type === "fault" ? state.selected.index : null;
    // From the selected fault; with none, from what is in sight: the first fault from the
    // view's left edge, or the last up to its right edge.
    var next = null;
    if (direction > 0) {
      for (var i = 0; i < faultOrder.length; i++) {
        var f = faults[faultOrder[i]];
        if (current != null ? faultOrder[i] > current : f[0] >= state.from) { next = faultOrder[i]; break; }
      }
    } else {
      for (var j = faultOrder.length - 1; j >= 0; j--) {
        var g = faults[faultOrder[j]];
        if (current != null ? faultOrder[j] < current : g[0] <= state.to) { next = faultOrder[j]; break; }
      }
    }
    if (next == null) return;
    centerOn(faults[next][0]);
    select("fault", next);
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.target && (ev.target.tagName === "INPUT" || ev.target.tagName === "TEXTAREA")) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key, handled = true;
    if (k === "+" || k === "=") zoomBy(0.5);
    else if (k === "-" || k === "_") zoomBy(2);
    else if (k === "ArrowLeft") panBy(-0.15);
    else if (k === "ArrowRight") panBy(0.15);
    else if (k === "0" || k === "Home") fit();
    else if (k === "v") jumpToViolation();
    else if (k === "n") stepFault(1);
    else if (k === "p") stepFault(-1);
    else if (k === "Escape") { select(null); selectNode(null); }
    else handled = false;
    if (handled) ev.preventDefault();
  });
  document.getElementById("fit").onclick = fit;
  document.getElementById("zoom-in").onclick = function () { zoomBy(0.5); };
  document.getElementById("zoom-out").onclick = function () { zoomBy(2); };
  document.getElementById("violation").onclick = jumpToViolation;
  document.getElementById("violation").disabled = !D.violation;
  document.getElementById("prev-fault").onclick = function () { stepFault(-1); };
  document.getElementById("next-fault").onclick = function () { stepFault(1); };
  document.getElementById("prev-fault").disabled = !faults.length;
  document.getElementById("next-fault").disabled = !faults.length;

  // ---- filters ------------------------------------------------------------------------------

  function checkboxes(menuId, items, hidden, swatch) {
    var menu = document.getElementById(menuId);
    var html = ["<div class=\"all\" data-all=\"1\">show all</div>"];
    items.forEach(function (name, i) {
      html.push("<label><input type=\"checkbox\" data-i=\"" + i + "\" checked> " +
        (swatch ? "<span class=\"swatch\" style=\"background:" + kindColor(i) + "\"></span>" : "") + esc(name) + "</label>");
    });
    menu.innerHTML = html.join("");
    menu.addEventListener("change", function (ev) {
      var i = +ev.target.getAttribute("data-i");
      if (ev.target.checked) delete hidden[i]; else hidden[i] = true;
      changedFilters();
    });
    menu.addEventListener("click", function (ev) {
      if (!ev.target.getAttribute("data-all")) return;
      Object.keys(hidden).forEach(function (k) { delete hidden[k]; });
      menu.querySelectorAll("input").forEach(function (c) { c.checked = true; });
      changedFilters();
    });
  }
  function changedFilters() {
    layoutLanes();
    if (state.selected && state.selected.type === "message" && !shown(messages[state.selected.index])) select(null);
    resize();
  }
  checkboxes("node-menu", D.nodes, state.hiddenNodes, false);
  checkboxes("kind-menu", D.kinds, state.hiddenKinds, true);

  // ---- header -------------------------------------------------------------------------------

  function header() {
    var r = D.run || {};
    var html = "<h1>" + esc(D.title) + "</h1><div class=\"facts\">";
    html += "<span>scenario <b>" + esc(r.scenario) + "</b> (" + esc(r.file) + ")</span>";
    html += "<span>seed <b>" + esc(r.seed) + "</b></span>";
    html += "<span>fingerprint <code>" + esc(r.fingerprint) + "</code></span>";
    html += "<span>" + esc((r.events || 0).toLocaleString("en")) + " events · " + esc(fmtDur(r.virtual_time_ns || 0)) +
      " of virtual time · " + esc(String(r.stop_reason || "").replace(/_/g, " ")) + "</span>";
    html += "<span>replay <code id=\"replay\">" + esc(r.reproduce || "") + "</code></span>";
    html += "</div><div class=\"verdicts\">";
    (r.invariants || []).forEach(function (inv) {
      var violated = !inv.held;
      var whole = inv.whole_run !== false;
      html += "<span class=\"badge " + (violated ? "violated" : whole ? "held" : "unjudged") + "\" data-inv=\"" + esc(inv.name) + "\" title=\"" +
        esc(violated ? "violated: click to jump to it" : whole ? "held" :
          "held until the run stopped at the violation; not judged if it is judged at a run's end") + "\">" +
        esc(inv.name) + (violated ? " ✕" : whole ? " ✓" : " ✓ until the stop") + "</span>";
    });
    if (r.expected) {
      html += "<span class=\"badge " + (r.expected.met ? "held" : "violated") + "\">expected: " + esc(r.expected.declared) + "</span>";
    }
    html += "</div>";
    var metrics = r.metrics || {};
    var keys = Object.keys(metrics);
    if (keys.length) {
      html += "<details><summary>metrics (" + keys.length + ")</summary><table>";
      keys.forEach(function (k) {
        var v = metrics[k];
        var text = typeof v === "object" ? JSON.stringify(v) : String(v);
        if (text.length > 300) text = text.slice(0, 300) + "…";
        html += "<tr><td>" + esc(k) + "</td><td>" + esc(text) + "</td></tr>";
      });
      html += "</table></details>";
    }
    if (win.note) html += "<div class=\"window-note\">" + esc(win.note) + "</div>";
    var el = document.getElementById("header");
    el.innerHTML = html;
    el.addEventListener("click", function (ev) {
      if (ev.target.classList.contains("violated") && ev.target.getAttribute("data-inv")) jumpToViolation();
    });
  }

  // ---- start --------------------------------------------------------------------------------

  header();
  layoutLanes();
  details();
  selectNode(null);
  window.addEventListener("resize", resize);
  fit();
  resize();

  // For tests and the curious: the view's state and verbs, and where things are drawn.
  window.dsimView = {
    data: D,
    state: function () {
      return { from: state.from, to: state.to, selected: state.selected, node: state.node,
        dense: state.dense, visible: state.visible, draws: state.draws,
        details: document.getElementById("details").innerText };
    },
    setView: setView, zoomBy: zoomBy, fit: fit, select: select, selectNode: selectNode,
    jumpToViolation: jumpToViolation, nextFault: function () { stepFault(1); },
    previousFault: function () { stepFault(-1); },
    // Where message i's arrow is, in page coordinates (a third of the way along).
    messagePoint: function (i) {
      var s = segment(messages[i]);
      var r = canvas.getBoundingClientRect();
      return [r.left + s[0] + (s[2] - s[0]) / 3, r.top + s[1] + (s[3] - s[1]) / 3];
    },
    // Draws the whole current view now, and says how long it took (ms).
    timeDraw: function () { var t = performance.now(); draw(); return performance.now() - t; }
  };
})();
