/* Interactive charts drawn from the JSON beside each <figure class="chart">: hover values,
   series toggles (the legend), zoom (drag across the plot; double-click or "reset zoom" undoes
   it). No dependencies, no network: everything is in the page. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var M = { top: 12, right: 16, bottom: 36, left: 58 };

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function num(v) {
    if (v === null || v === undefined || isNaN(v)) { return "\u2013"; }
    var a = Math.abs(v);
    if (a >= 1e6) { return (v / 1e6).toFixed(2) + "M"; }
    if (a >= 1e4) { return (v / 1e3).toFixed(1) + "k"; }
    if (a >= 100 || Number.isInteger(v)) { return v.toFixed(0); }
    if (a >= 10) { return v.toFixed(1); }
    if (a >= 1) { return v.toFixed(2); }
    return v.toFixed(3);
  }
  function ticks(lo, hi, count) {
    if (!(hi > lo)) { return [lo]; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
    var err = (hi - lo) / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) { out.push(+t.toPrecision(12)); }
    return out;
  }
  function logTicks(lo, hi) {
    var out = [];
    for (var p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
      var v = Math.pow(10, p);
      if (v >= lo && v <= hi) { out.push(v); }
    }
    return out.length ? out : [lo, hi];
  }

  function Chart(root, spec) {
    this.root = root;
    this.spec = spec;
    this.hidden = {};
    this.zoom = null;
    var self = this;
    var legend = document.createElement("div");
    legend.className = "chart-legend";
    spec.series.forEach(function (s, i) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "chart-toggle";
      button.setAttribute("aria-pressed", "true");
      button.title = "Show or hide " + s.name;
      button.innerHTML = '<span class="swatch"></span>';
      button.firstChild.style.background = s.color;
      button.appendChild(document.createTextNode(s.name));
      button.addEventListener("click", function () {
        self.hidden[i] = !self.hidden[i];
        button.setAttribute("aria-pressed", self.hidden[i] ? "false" : "true");
        self.draw();
      });
      legend.appendChild(button);
    });
    var reset = document.createElement("button");
    reset.type = "button";
    reset.className = "chart-reset";
    reset.textContent = "reset zoom";
    reset.hidden = true;
    reset.addEventListener("click", function () { self.zoom = null; self.draw(); });
    legend.appendChild(reset);
    this.reset = reset;
    this.tip = document.createElement("div");
    this.tip.className = "chart-tip";
    this.tip.hidden = true;
    this.svg = el("svg", { class: "chart-svg", role: "img", "aria-label": spec.title || "chart" });
    root.appendChild(legend);
    root.appendChild(this.svg);
    root.appendChild(this.tip);
    this.draw();
  }

  Chart.prototype.xt = function (x) { return this.spec.x_log ? Math.log10(Math.max(x, 1e-12)) : x; };

  Chart.prototype.domain = function () {
    var spec = this.spec, self = this, xs = [], left = [0], right = [0];
    spec.series.forEach(function (s, i) {
      s.x.forEach(function (x) { if (x !== null) { xs.push(x); } });
    });
    var x0 = this.zoom ? this.zoom[0] : Math.min.apply(null, xs.length ? xs : [0]);
    var x1 = this.zoom ? this.zoom[1] : Math.max.apply(null, xs.length ? xs : [1]);
    spec.series.forEach(function (s, i) {
      if (self.hidden[i] || s.kind === "events") { return; }
      s.x.forEach(function (x, j) {
        var y = s.y[j];
        if (y === null || x < x0 || x > x1) { return; }
        (s.axis === "right" ? right : left).push(y);
      });
    });
    if (x1 <= x0) { x1 = x0 + 1; }
    return { x0: x0, x1: x1, y1: Math.max.apply(null, left) * 1.05 || 1, r1: Math.max.apply(null, right) * 1.05 || 1 };
  };

  Chart.prototype.draw = function () {
    var spec = this.spec, svg = this.svg, self = this;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var width = Math.max(this.root.clientWidth || 640, 320), height = spec.height || 260;
    var hasRight = spec.series.some(function (s) { return s.axis === "right"; });
    var m = { top: M.top, bottom: M.bottom, left: M.left, right: hasRight ? M.left : M.right };
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    var d = this.domain(), pw = width - m.left - m.right, ph = height - m.top - m.bottom;
    var tx0 = this.xt(d.x0), tx1 = this.xt(d.x1);
    var X = function (x) { return m.left + (self.xt(x) - tx0) / (tx1 - tx0) * pw; };
    var Y = function (y, axis) { return m.top + ph - y / (axis === "right" ? d.r1 : d.y1) * ph; };
    this.X = X; this.m = m; this.pw = pw; this.ph = ph; this.d = d;
    var grid = el("g", { class: "grid" }, svg);
    var xticks = spec.x_ticks ? spec.x_ticks.filter(function (t) { return t[0] >= d.x0 && t[0] <= d.x1; })
      : (spec.x_log ? logTicks(d.x0, d.x1) : ticks(d.x0, d.x1, 8)).map(function (t) { return [t, num(t)]; });
    xticks.forEach(function (t) {
      el("line", { x1: X(t[0]), x2: X(t[0]), y1: m.top, y2: m.top + ph }, grid);
      el("text", { x: X(t[0]), y: m.top + ph + 14, "text-anchor": "middle", class: "tick" }, svg).textContent = t[1];
    });
    ticks(0, d.y1, 5).forEach(function (t) {
      el("line", { x1: m.left, x2: m.left + pw, y1: Y(t), y2: Y(t) }, grid);
      el("text", { x: m.left - 6, y: Y(t) + 3, "text-anchor": "end", class: "tick" }, svg).textContent = num(t);
    });
    if (hasRight) {
      ticks(0, d.r1, 5).forEach(function (t) {
        el("text", { x: m.left + pw + 6, y: Y(t, "right") + 3, class: "tick" }, svg).textContent = num(t);
      });
    }
    el("text", { x: m.left + pw / 2, y: height - 4, "text-anchor": "middle", class: "label" }, svg).textContent = spec.x_label || "";
    el("text", { x: 12, y: m.top + ph / 2, "text-anchor": "middle", class: "label",
                 transform: "rotate(-90 12 " + (m.top + ph / 2) + ")" }, svg).textContent = spec.y_label || "";
    if (hasRight) {
      var rx = width - 10;
      el("text", { x: rx, y: m.top + ph / 2, "text-anchor": "middle", class: "label",
                   transform: "rotate(90 " + rx + " " + (m.top + ph / 2) + ")" }, svg).textContent = spec.y2_label || "";
    }
    var clip = "clip-" + this.root.id;
    el("rect", { x: m.left, y: m.top - 4, width: pw, height: ph + 4 }, el("clipPath", { id: clip }, svg));
    var plot = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
    (spec.marks || []).forEach(function (mark) {
      if (mark.x < d.x0 || mark.x > d.x1) { return; }
      el("line", { x1: X(mark.x), x2: X(mark.x), y1: m.top, y2: m.top + ph, class: "mark" }, plot);
      el("text", { x: X(mark.x) + 3, y: m.top + 9, class: "mark-text" }, plot).textContent = mark.text;
    });
    var events = 0;
    spec.series.forEach(function (s, i) {
      if (self.hidden[i]) { return; }
      if (s.kind === "events") {
        var row = m.top + ph - 6 - 9 * events++;
        s.x.forEach(function (x, j) {
          if (!s.y[j] || x < d.x0 || x > d.x1) { return; }
          var cx = X(x);
          el("path", { d: "M" + (cx - 4) + " " + (row + 4) + "L" + cx + " " + (row - 4) + "L" + (cx + 4) + " " + (row + 4) + "Z",
                       fill: s.color, class: "event" }, plot);
        });
        return;
      }
      var path = "", pen = false;
      s.x.forEach(function (x, j) {
        var y = s.y[j];
        if (y === null || y === undefined) { pen = false; return; }
        var px = X(x).toFixed(1), py = Y(y, s.axis).toFixed(1);
        if (s.step && pen) { path += "H" + px; }
        path += (pen ? "L" : "M") + px + " " + py;
        pen = true;
      });
      el("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 1.6,
                   "stroke-dasharray": s.dash || "", class: "series" }, plot);
    });
    var cross = el("line", { y1: m.top, y2: m.top + ph, class: "cross", visibility: "hidden" }, svg);
    var band = el("rect", { y: m.top, height: ph, width: 0, class: "zoom-band", visibility: "hidden" }, svg);
    var overlay = el("rect", { x: m.left, y: m.top, width: pw, height: ph, class: "overlay" }, svg);
    this.reset.hidden = !this.zoom;
    var start = null;
    var xAt = function (event) {
      var box = svg.getBoundingClientRect();
      var px = (event.clientX - box.left) * (width / box.width);
      var t = tx0 + (px - m.left) / pw * (tx1 - tx0);
      return { px: px, x: spec.x_log ? Math.pow(10, t) : t };
    };
    overlay.addEventListener("mousemove", function (event) {
      var at = xAt(event);
      cross.setAttribute("x1", at.px); cross.setAttribute("x2", at.px); cross.setAttribute("visibility", "visible");
      if (start !== null) {
        band.setAttribute("x", Math.min(start.px, at.px)); band.setAttribute("width", Math.abs(at.px - start.px));
        band.setAttribute("visibility", "visible");
      }
      self.showTip(at, event);
    });
    overlay.addEventListener("mouseleave", function () {
      cross.setAttribute("visibility", "hidden"); self.tip.hidden = true;
    });
    overlay.addEventListener("mousedown", function (event) { start = xAt(event); event.preventDefault(); });
    overlay.addEventListener("mouseup", function (event) {
      var end = xAt(event);
      if (start !== null && Math.abs(end.px - start.px) > 4) {
        self.zoom = [Math.min(start.x, end.x), Math.max(start.x, end.x)];
        start = null;
        self.draw();
        return;
      }
      start = null;
      band.setAttribute("visibility", "hidden");
    });
    overlay.addEventListener("dblclick", function () { self.zoom = null; self.draw(); });
  };

  Chart.prototype.showTip = function (at, event) {
    var spec = this.spec, self = this, lines = [];
    spec.series.forEach(function (s, i) {
      if (self.hidden[i] || !s.x.length) { return; }
      var lo = 0, hi = s.x.length - 1;
      while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (s.x[mid] < at.x) { lo = mid; } else { hi = mid; } }
      var j = Math.abs(s.x[lo] - at.x) <= Math.abs(s.x[hi] - at.x) ? lo : hi;
      if (s.kind === "events" && !s.y[j]) { return; }
      lines.push({ name: s.name, color: s.color, x: s.x[j], y: s.y[j], unit: s.unit || "" });
    });
    var tip = this.tip;
    while (tip.firstChild) { tip.removeChild(tip.firstChild); }
    var head = document.createElement("div");
    head.className = "chart-tip-x";
    head.textContent = (spec.x_name || spec.x_label || "x") + ": " + (spec.x_format === "percentile"
      ? (100 - 100 / at.x).toPrecision(6) + "%" : num(lines.length ? lines[0].x : at.x));
    tip.appendChild(head);
    lines.forEach(function (line) {
      var row = document.createElement("div");
      row.className = "chart-tip-row";
      row.innerHTML = '<span class="swatch"></span>';
      row.firstChild.style.background = line.color;
      row.appendChild(document.createTextNode(line.name + ": " + num(line.y) + (line.unit ? " " + line.unit : "")));
      tip.appendChild(row);
    });
    var box = this.root.getBoundingClientRect();
    tip.style.left = Math.min(event.clientX - box.left + 14, box.width - 220) + "px";
    tip.style.top = (event.clientY - box.top + 10) + "px";
    tip.hidden = false;
  };

  Array.prototype.forEach.call(document.querySelectorAll("figure.chart"), function (root) {
    var data = root.querySelector("script[type='application/json']");
    if (!data) { return; }
    root.wsbenchChart = new Chart(root.querySelector(".chart-body"), JSON.parse(data.textContent));
  });
}());
