/* Sort the tables marked data-sortable by a click on a column header. The page reads the same
   without this script: it only adds the buttons. Numbers sort by data-value (plain decimals),
   the largest first; text sorts A to Z first. A second click on the same header reverses. */
(function () {
  "use strict";
  function sortBy(table, index, th) {
    var numeric = th.classList.contains("num");
    var current = th.getAttribute("aria-sort");
    var ascending = current ? current === "descending" : !numeric;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      var cell = row.cells[index];
      var raw = cell.getAttribute("data-value");
      var key = numeric ? parseFloat(raw === null ? cell.textContent.replace(/,/g, "") : raw)
                        : cell.textContent.trim().toLowerCase();
      if (numeric && isNaN(key)) { key = -Infinity; }
      return { row: row, key: key, position: position };
    });
    rows.sort(function (a, b) {
      var order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (ascending ? order : -order) || a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.setAttribute("aria-label", "Sort by " + th.textContent.trim());
      th.appendChild(button);
      th.classList.add("sortable");
      th.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
}());
