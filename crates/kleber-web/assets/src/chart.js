// Kleber portal: draws the analyze tab's chart with Chart.js from the same numbers as the
// data table printed by the server (read from a JSON script element, never from HTML; the
// table's cells also carry them unformatted in data-value).
(function () {
  "use strict";
  var data = document.getElementById("chart-json");
  var canvas = document.getElementById("chart-canvas");
  if (!data || !canvas || typeof Chart === "undefined") { return; }
  var spec = JSON.parse(data.textContent);
  var palette = ["#0b4f8a", "#a4301c", "#2e7d32", "#6a1b9a", "#b26a00", "#00695c", "#37474f", "#ad1457"];
  var pie = spec.type === "pie";
  Chart.defaults.color = "#1b1f24";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  new Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: [{
        label: spec.label,
        data: spec.values,
        backgroundColor: pie ? spec.labels.map(function (_, i) { return palette[i % palette.length]; }) : "#0b4f8a",
        borderColor: pie ? "#ffffff" : "#0b4f8a",
        borderWidth: pie ? 1 : 2,
        tension: 0.2
      }]
    },
    options: {
      // Axis ticks and tooltips write numbers the page's way (1 400 000 or 1,400,000).
      locale: document.documentElement.lang || "fr",
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 },
      plugins: { legend: { display: pie } },
      scales: pie ? {} : { y: { beginAtZero: true } }
    }
  });
})();
