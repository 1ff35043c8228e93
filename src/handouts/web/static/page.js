// The counter page's script. Without it the page still works: the browser refuses a
// date it cannot read, the server sends a ZIP for two documents and waits for a list.
// Patient data travels only in POST bodies.
"use strict";
(function () {
  var patientForm = document.getElementById("patient-form");

  // ------------------------------------------------------------------ the patient form

  // A date field whose typed text the browser cannot read as a date (02/30/2026, a
  // half-typed 12/01/____) has an empty value: sent as it is, the PDF would silently
  // lack the patient's dates. Stop, and say which field, as the server says it.
  function showFieldError(input, text) {
    var id = input.id + "-error";
    var error = document.getElementById(id);
    if (!error) {
      error = document.createElement("p");
      error.className = "error";
      error.id = id;
      input.parentNode.insertBefore(error, input);
    }
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(id) < 0) { described.push(id); }
    input.setAttribute("aria-describedby", described.join(" "));
  }

  function showSummary(items) {
    var summary = document.getElementById("error-summary");
    if (!summary) {
      summary = document.createElement("div");
      summary.className = "summary";
      summary.id = "error-summary";
      summary.setAttribute("role", "alert");
      summary.tabIndex = -1;
      var title = document.createElement("h2");
      title.textContent = patientForm.dataset.summaryTitle || "";
      summary.appendChild(title);
      summary.appendChild(document.createElement("ul"));
      patientForm.parentNode.insertBefore(summary, patientForm);
    }
    var list = summary.querySelector("ul");
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#" + item.id;
      a.textContent = item.text;
      li.appendChild(a);
      list.appendChild(li);
    });
    summary.focus();
  }

  function unreadableDates() {
    var bad = [];
    patientForm.querySelectorAll("input[type=date]").forEach(function (input) {
      if (input.validity && input.validity.badInput) {
        showFieldError(input, input.dataset.badInput);
        bad.push({ id: input.id, text: input.dataset.summary + ": " + input.dataset.badInput });
      }
    });
    if (bad.length) { showSummary(bad); }
    return bad.length > 0;
  }

  function fileName(response, fallback) {
    var cd = response.headers.get("content-disposition") || "";
    var m = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    return m ? decodeURIComponent(m[1]) : fallback;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  // Both documents: two PDFs, one request each, rather than a ZIP to unpack before
  // printing. Whatever is not a PDF (the form with an error beside a field) is asked
  // for again as a plain form submission, so the server's page shows it.
  function downloadEach(documents, button) {
    button.disabled = true;
    var done = Promise.resolve(true);
    documents.forEach(function (doc) {
      done = done.then(function (ok) {
        if (!ok) { return false; }
        var body = new FormData(patientForm);
        body.set("documents", doc);
        return fetch(patientForm.action, { method: "POST", body: body }).then(function (r) {
          if (r.ok && (r.headers.get("content-type") || "").indexOf("application/pdf") === 0) {
            return r.blob().then(function (blob) { save(blob, fileName(r, doc + ".pdf")); return true; });
          }
          return false;
        });
      });
    });
    done.then(function (ok) {
      button.disabled = false;
      if (!ok) { patientForm.submit(); }
    }).catch(function () { button.disabled = false; patientForm.submit(); });
  }

  if (patientForm) {
    patientForm.noValidate = true;   // the page's own words instead of the browser's bubble
    patientForm.addEventListener("submit", function (event) {
      if (unreadableDates()) { event.preventDefault(); return; }
      var submitter = event.submitter;
      var which = document.getElementById("documents");
      var isDownload = !submitter || submitter.id === "download";
      if (isDownload && which && which.value === "both" && window.fetch && window.FormData) {
        event.preventDefault();
        var docs = Array.prototype.map.call(patientForm.querySelectorAll("button.print"),
                                            function (b) { return b.value; });
        downloadEach(docs, document.getElementById("download"));
      }
    });

    // A print button per document the form makes; the sheet's card count only with a sheet.
    var documents = document.getElementById("documents");
    var card = document.getElementById("card");
    var copies = document.getElementById("copies");
    var sync = function () {
      patientForm.querySelectorAll("button.print").forEach(function (b) {
        b.hidden = documents.value !== "both" && documents.value !== b.value;
      });
      if (card && copies) { copies.disabled = card.value === "card"; }
    };
    if (documents) { documents.addEventListener("change", sync); }
    if (card) { card.addEventListener("change", sync); }
    sync();
  }

  // ------------------------------------------------------------------ a patient list

  var form = document.getElementById("batch-form");
  if (form && window.fetch) {
    var bar = document.getElementById("batch-progress");
    var text = document.getElementById("batch-progress-text");
    var list = document.getElementById("batch-problems");
    var button = document.getElementById("upload");

    var show = function (data) {
      if (data.total) { bar.hidden = false; bar.max = data.total; bar.value = data.done; }
      text.textContent = data.error || data.progress || "";
      list.textContent = "";
      (data.problems || []).forEach(function (p) {
        var li = document.createElement("li"); li.textContent = p; list.appendChild(li);
      });
    };

    // The job id is the key to the list's ZIP: it goes in POST bodies, never in a URL.
    var poll = function (job) {
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
    };

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
  }

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var previews = document.getElementById("previews-title");
  if (previews && !summary) { previews.focus(); }
})();
