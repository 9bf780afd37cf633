// Kleber portal: the map tab. Every record that matches the page's filters shows: the server
// counts them per cell of a grid over the visible area (the clusters endpoint, asked again on
// each move or zoom, debounced, a stale request aborted), and answers the records themselves
// where a cell holds few. A cluster is a button with its count: a click, Enter or Space zooms
// into its records. Shapes come simplified to the zoom. Without tiles (offline, or a tile
// server that refuses) the data still shows on a plain background.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  var status = document.getElementById("map-status");
  var map = L.map(el, { keyboard: true, zoomControl: false, preferCanvas: false, maxZoom: 19 })
    .setView([48.5839, 7.7455], 12);
  // Zoom buttons keep their visible sign and are named by visually hidden words, not by an
  // aria-label that would differ from what is seen (WCAG 2.5.3, label in name).
  var zoomIn = el.getAttribute("data-zoom-in") || "Zoom in";
  var zoomOut = el.getAttribute("data-zoom-out") || "Zoom out";
  L.control.zoom({ zoomInTitle: zoomIn, zoomOutTitle: zoomOut }).addTo(map);
  [[".leaflet-control-zoom-in", zoomIn], [".leaflet-control-zoom-out", zoomOut]].forEach(function (b) {
    var button = el.querySelector(b[0]);
    if (!button) { return; }
    button.removeAttribute("aria-label");
    var words = document.createElement("span");
    words.className = "visually-hidden";
    words.textContent = b[1];
    button.appendChild(words);
  });
  var labels = {};
  try { labels = JSON.parse(el.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "fr");
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
  }
  // Records answered one by one may still overlap: markercluster groups those on the screen.
  var points = typeof L.markerClusterGroup === "function" ? L.markerClusterGroup() : L.featureGroup();
  var clusters = L.featureGroup();
  var shapes = L.featureGroup();
  points.addTo(map);
  clusters.addTo(map);
  shapes.addTo(map);

  function text(value) {
    if (value === null || value === undefined) { return ""; }
    if (typeof value === "boolean") { return el.getAttribute(value ? "data-yes" : "data-no") || String(value); }
    if (typeof value === "number") { return numbers.format(value); }
    if (Array.isArray(value)) { return value.map(text).join(", "); }
    if (typeof value === "object") { return JSON.stringify(value); }
    return String(value);
  }
  // Popups are built as DOM nodes, never from HTML strings, so values cannot inject markup.
  function popup(record) {
    var dl = document.createElement("dl");
    Object.keys(record).forEach(function (key) {
      var value = record[key];
      if (value && typeof value === "object" && (value.type === "Feature" || (value.lon !== undefined && value.lat !== undefined))) { return; }
      var dt = document.createElement("dt");
      dt.textContent = labels[key] || key;
      var dd = document.createElement("dd");
      dd.textContent = text(value);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    return dl;
  }
  function add(record) {
    var added = false;
    Object.keys(record).forEach(function (key) {
      var value = record[key];
      if (!value || typeof value !== "object" || added) { return; }
      if (typeof value.lat === "number" && typeof value.lon === "number") {
        var name = text(record[el.getAttribute("data-title-field")]) || key;
        var marker = L.marker([value.lat, value.lon], { keyboard: true, title: name, alt: name });
        marker.bindPopup(popup(record));
        points.addLayer(marker);
        added = true;
      } else if (value.type === "Feature" || value.type === "LineString" || value.type === "Polygon" || value.type === "MultiPolygon" || value.type === "MultiLineString" || value.type === "Point") {
        var layer = L.geoJSON(value, { style: { color: "#0b4f8a", weight: 4 } });
        layer.bindPopup(popup(record));
        shapes.addLayer(layer);
        added = true;
      }
    });
    return added;
  }
  // A server cluster: markercluster's look (so both kinds read the same), a count, and a
  // name saying what activating it does.
  function addCluster(c) {
    var size = c.count < 100 ? "small" : c.count < 10000 ? "medium" : "large";
    var inner = document.createElement("div");
    var span = document.createElement("span");
    span.textContent = numbers.format(c.count);
    inner.appendChild(span);
    var name = (el.getAttribute("data-cluster-label") || "{n} records: zoom in").replace("{n}", numbers.format(c.count));
    var marker = L.marker([c.center.lat, c.center.lon], {
      keyboard: true,
      title: name,
      alt: name,
      icon: L.divIcon({ html: inner, className: "marker-cluster marker-cluster-" + size + " kleber-cluster", iconSize: L.point(40, 40) })
    });
    marker.on("click", function () {
      var b = c.bbox;
      if (b[0] === b[2] && b[1] === b[3]) {
        map.setView([c.center.lat, c.center.lon], Math.min(map.getZoom() + 3, map.getMaxZoom()));
      } else {
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20] });
      }
    });
    marker.on("add", function () {
      var icon = marker.getElement();
      if (!icon) { return; }
      icon.setAttribute("role", "button");
      icon.setAttribute("aria-label", name);
      // Leaflet clicks a focused marker on Enter; a button also answers Space.
      icon.addEventListener("keydown", function (e) {
        if (e.key === " " || e.key === "Spacebar") { e.preventDefault(); marker.fire("click"); }
      });
    });
    clusters.addLayer(marker);
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  var base = el.getAttribute("data-url");
  function url(zoom, bounds) {
    var u = base + (base.indexOf("?") < 0 ? "?" : "&") + "zoom=" + zoom;
    if (bounds) {
      var w = clamp(bounds.getWest(), -180, 180), e = clamp(bounds.getEast(), -180, 180);
      var s = clamp(bounds.getSouth(), -90, 90), n = clamp(bounds.getNorth(), -90, 90);
      if (bounds.getEast() - bounds.getWest() >= 360) { w = -180; e = 180; }
      u += "&bbox=" + [w, s, e, n].map(function (v) { return v.toFixed(6); }).join(",");
    }
    return u;
  }
  function draw(answer) {
    points.clearLayers();
    clusters.clearLayers();
    shapes.clearLayers();
    answer.clusters.forEach(addCluster);
    answer.records.forEach(function (r) { add(r.record); });
    el.setAttribute("data-loaded", String(answer.total_count));
    el.setAttribute("data-clusters", String(answer.clusters.length));
  }
  var pending = null;
  function load(zoom, bounds) {
    if (pending) { pending.abort(); }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    pending = controller;
    el.setAttribute("aria-busy", "true");
    return fetch(url(zoom, bounds), { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (e) { throw new Error(e.message || ("HTTP " + r.status)); },
            function () { throw new Error("HTTP " + r.status); });
        }
        return r.json();
      })
      .then(function (answer) {
        if (pending === controller) { pending = null; el.removeAttribute("aria-busy"); }
        if (status) { status.textContent = ""; }
        return answer;
      }, function (e) {
        if (e && e.name === "AbortError") { return null; }
        if (pending === controller) { pending = null; el.removeAttribute("aria-busy"); }
        if (status) { status.textContent = e.message; }
        return null;
      });
  }
  var timer = null;
  var ready = false;
  function refresh() {
    if (!ready) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () {
      load(map.getZoom(), map.getBounds()).then(function (answer) { if (answer) { draw(answer); } });
    }, 200);
  }
  map.on("moveend", refresh);
  // First the whole world at the coarsest grid: its clusters' bounds are where the data is.
  load(0, null).then(function (answer) {
    if (!answer) { return; }
    var bounds = L.latLngBounds([]);
    answer.clusters.forEach(function (c) { bounds.extend([[c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]]); });
    draw(answer);
    if (points.getBounds && points.getLayers().length) { bounds.extend(points.getBounds()); }
    if (shapes.getLayers().length) { bounds.extend(shapes.getBounds()); }
    ready = true;
    if (bounds.isValid()) {
      // The view that holds every record; its own clusters are asked once it settles.
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
      refresh();
    }
  });
})();
