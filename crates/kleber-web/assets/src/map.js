// Kleber portal: the map tab. Draws the records that match the page's filters with Leaflet:
// points in clusters, shapes as GeoJSON, a popup per record. Without tiles (offline, or a
// tile server that refuses) the data still shows on a plain background.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  var status = document.getElementById("map-status");
  var map = L.map(el, { keyboard: true, zoomControl: false, preferCanvas: false }).setView([48.5839, 7.7455], 12);
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
  var cluster = typeof L.markerClusterGroup === "function" ? L.markerClusterGroup() : L.featureGroup();
  var shapes = L.featureGroup();
  cluster.addTo(map);
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
        cluster.addLayer(marker);
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
  fetch(el.getAttribute("data-url"), { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (records) {
      var count = 0;
      records.forEach(function (record) { if (add(record)) { count += 1; } });
      var bounds = L.latLngBounds([]);
      if (cluster.getBounds && cluster.getLayers().length) { bounds.extend(cluster.getBounds()); }
      if (shapes.getLayers().length) { bounds.extend(shapes.getBounds()); }
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 }); }
      if (status && records.length >= 5000) { status.textContent = el.getAttribute("data-partial"); }
      el.setAttribute("data-loaded", String(count));
    })
    .catch(function (e) { if (status) { status.textContent = e.message; } });
})();
