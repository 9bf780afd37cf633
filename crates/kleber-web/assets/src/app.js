// Kleber portal: small progressive enhancements. Every page works without this script.
(function () {
  "use strict";
  // Sort selects submit their form when changed (the Apply button stays for keyboard users).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
  // Copy buttons of the API tab: shown only when the clipboard is available.
  if (navigator.clipboard) {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target) { return; }
        navigator.clipboard.writeText(target.textContent).then(function () {
          var label = button.firstChild.nodeValue;
          button.firstChild.nodeValue = button.getAttribute("data-copied");
          setTimeout(function () { button.firstChild.nodeValue = label; }, 2000);
        });
      });
    });
  }
  // On narrow screens the facets fold into their "Filtrer" disclosure, so that the results
  // come first; without this script they stay open (and the page still works).
  if (window.matchMedia && window.matchMedia("(max-width: 51.99rem)").matches) {
    document.querySelectorAll("details[data-narrow-closed]").forEach(function (details) {
      details.open = false;
    });
  }
  // A record opened from the table gets the focus, so screen readers read it.
  var detail = document.getElementById("record-detail");
  if (detail) { detail.focus(); }
})();
