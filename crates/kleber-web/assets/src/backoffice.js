// Back office: drag and drop onto the file inputs of the upload forms (a progressive
// enhancement: the forms are plain multipart forms that work without this script).
(function () {
  'use strict';
  document.querySelectorAll('[data-drop]').forEach(function (zone) {
    var input = zone.querySelector('input[type="file"]');
    var hint = zone.querySelector('.bo-drop-hint');
    if (!input || typeof DataTransfer === 'undefined') { return; }
    zone.classList.add('bo-drop-ready');
    if (hint) { hint.hidden = false; }
    var over = function (on) { zone.classList.toggle('bo-drop-over', on); };
    zone.addEventListener('dragover', function (e) { e.preventDefault(); over(true); });
    zone.addEventListener('dragleave', function () { over(false); });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      over(false);
      if (!e.dataTransfer || e.dataTransfer.files.length === 0) { return; }
      var files = new DataTransfer();
      files.items.add(e.dataTransfer.files[0]);
      input.files = files.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
      var name = zone.querySelector('.bo-drop-name');
      if (!name) {
        name = document.createElement('span');
        name.className = 'bo-drop-name';
        name.setAttribute('role', 'status');
        zone.appendChild(name);
      }
      name.textContent = e.dataTransfer.files[0].name;
    });
  });
}());
