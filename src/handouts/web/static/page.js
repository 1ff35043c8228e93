// The patient-list upload with progress. Without script the form still works: the
// server waits and sends the ZIP. Patient data travels only in the POST body.
"use strict";
(function () {
  var form = document.getElementById("batch-form");
  if (!form || !window.fetch) { return; }
  var bar = document.getElementById("batch-progress");
  var text = document.getElementById("batch-progress-text");
  var list = document.getElementById("batch-problems");
  var button = document.getElementById("upload");

  function show(data) {
    if (data.total) { bar.hidden = false; bar.max = data.total; bar.value = data.done; }
    text.textContent = data.error || data.progress || "";
    list.textContent = "";
    (data.problems || []).forEach(function (p) {
      var li = document.createElement("li"); li.textContent = p; list.appendChild(li);
    });
  }

  // The job id is the key to the list's ZIP: it goes in POST bodies, never in a URL.
  function poll(job) {
    fetch(form.action + "/status", { method: "POST", body: new URLSearchParams({ job: job }),
                                     headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        show(data);
        if (data.state === "running") { setTimeout(function () { poll(job); }, 250); return; }
        button.disabled = false;
        if (data.ready) {
          document.getElementById("batch-zip-job").value = job;
          document.getElementById("batch-zip").submit();
        }
      })
      .catch(function () { button.disabled = false; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    list.textContent = ""; bar.hidden = true; text.textContent = form.dataset.working || "";
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        show(data);
        if (data.job) { poll(data.job); } else { button.disabled = false; }
      })
      .catch(function () { button.disabled = false; });
  });

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var previews = document.getElementById("previews-title");
  if (previews && !summary) { previews.focus(); }
})();
