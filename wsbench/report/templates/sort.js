/* Sortable tables: click (or Enter/Space on) a column header. No dependencies. */
(function () {
  "use strict";
  function sortKey(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (raw === "" || raw === "\u2013" || raw === "None") { return { missing: true }; }
    var number = Number(raw);
    if (!isNaN(number)) { return { number: number }; }
    return { text: raw.toLowerCase() };
  }
  function compare(a, b) {
    if (a.missing || b.missing) { return a.missing === b.missing ? 0 : (a.missing ? 1 : -1); }
    if (a.number !== undefined && b.number !== undefined) { return a.number - b.number; }
    var x = a.text !== undefined ? a.text : String(a.number);
    var y = b.text !== undefined ? b.text : String(b.number);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  function sortBy(table, header, column) {
    var descending = header.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, index) {
      return { row: row, index: index, key: sortKey(row.cells[column]) };
    });
    keyed.sort(function (a, b) {
      var order = compare(a.key, b.key);
      if (descending && !a.key.missing && !b.key.missing) { order = -order; }
      return order !== 0 ? order : a.index - b.index;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (header, column) {
      header.tabIndex = 0;
      header.title = "Sort by this column";
      header.addEventListener("click", function () { sortBy(table, header, column); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header, column); }
      });
    });
  });
}());
