// ledgerrun web: live run progress, sortable tables, filters that apply on change.
// Everything here is optional: the pages work without JavaScript (progress as of the load).
"use strict";

function fmt(n) {
  return Number(n || 0).toLocaleString("en-US");
}

function pollProgress(box) {
  var url = box.getAttribute("data-progress-url");
  var set = function (id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  };
  var tick = function () {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(tick, 3000); return; }
        var total = p.to_send || p.rows || 0;
        set("p-done", fmt(p.done));
        set("p-total", fmt(total));
        set("p-rate", String(p.rate || 0));
        set("p-succeeded", fmt(p.succeeded));
        set("p-failed", fmt(p.failed));
        set("p-unknown", fmt(p.unknown));
        set("p-phase", p.phase || p.state);
        var badge = document.getElementById("work-state");
        if (badge && p.state === "running" && badge.textContent !== "Running") {
          badge.textContent = "Running";
          badge.className = "badge b-blue";
        }
        var meter = document.getElementById("meter");
        if (meter) { meter.max = total || 1; meter.value = total ? p.done : 0; }
        if (p.finished) {
          set("p-note", "Finished: loading the results…");
          window.location.reload();
          return;
        }
        set("p-note", "Updating live.");
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  };
  tick();
}

function cellValue(row, index) {
  var cell = row.cells[index];
  if (!cell) { return ""; }
  var key = cell.getAttribute("data-sort");
  return key !== null ? key : cell.textContent.trim();
}

function makeSortable(table) {
  var heads = table.tHead ? table.tHead.rows[0].cells : [];
  Array.prototype.forEach.call(heads, function (th, index) {
    th.tabIndex = 0;
    th.title = "Sort by this column";
    var sort = function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var numeric = th.classList.contains("num");
      rows.sort(function (a, b) {
        var x = cellValue(a, index), y = cellValue(b, index);
        var c = numeric ? (parseFloat(x.replace(/,/g, "")) || 0) - (parseFloat(y.replace(/,/g, "")) || 0)
                        : x.localeCompare(y);
        return ascending ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
}

// Times: the page says them in UTC; here they are shown in the viewer's own time zone, the
// UTC moment kept in the tooltip. Search forms send the zone, so their dates are the viewer's.
function localTimes(root) {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var format;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23", timeZoneName: "short"
    });
  } catch (e) { return; }
  // Written as the page writes UTC (2026-11-30 09:41:05), with the zone's short name: never a
  // day and month that read two ways.
  var written = function (moment) {
    var part = {};
    format.formatToParts(moment).forEach(function (p) { part[p.type] = p.value; });
    return part.year + "-" + part.month + "-" + part.day + " " + part.hour + ":" + part.minute +
      ":" + part.second + " " + (part.timeZoneName || "");
  };
  root.querySelectorAll("time[datetime]").forEach(function (el) {
    var moment = new Date(el.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { return; }
    if (!el.getAttribute("data-utc")) { el.setAttribute("data-utc", el.textContent); }
    el.textContent = written(moment).trim();
    el.title = el.getAttribute("data-utc");
    el.classList.add("local");
  });
  root.querySelectorAll("input.viewer-zone").forEach(function (el) {
    if (zone) { el.value = zone; }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  localTimes(document);
  var box = document.getElementById("progress");
  if (box && box.getAttribute("data-finished") === "no") { pollProgress(box); }
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  var refresh = document.getElementById("auto-refresh");
  if (refresh) {
    // Work is going on for this batch (a check with Stripe, a run, a reconciliation): look
    // again in a few seconds, unless the person is writing a comment.
    setTimeout(function again() {
      var comment = document.getElementById("comment");
      if (comment && (comment.value || document.activeElement === comment)) {
        setTimeout(again, 3000);
        return;
      }
      window.location.reload();
    }, 1000 * Number(refresh.getAttribute("data-seconds") || 3));
  }
  var ids = document.getElementById("reverse-ids");
  if (ids) {
    // Typing ids means "only these": the wider choice is never left standing over typed ids.
    ids.addEventListener("input", function () {
      var chosen = document.querySelector('#reverse-scope input[value="chosen"]');
      if (chosen && ids.value.trim()) { chosen.checked = true; }
    });
  }
  var only = document.getElementById("only-problems");
  if (only) { only.addEventListener("change", function () { only.form.submit(); }); }
  document.querySelectorAll("select.autosubmit").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
});
