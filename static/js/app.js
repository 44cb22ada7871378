// Adds and removes order lines in place (Django formset), and prevents double submits.
(function () {
  // An order has at most data-max lines (the server refuses more): the button stops there and says so, so
  // nothing typed is ever lost to a refused save.
  function atLineLimit(button, count) {
    var max = parseInt(button.dataset.max || "0", 10);
    var full = max > 0 && count >= max;
    button.disabled = full;
    var note = document.getElementById("line-limit");
    if (note) { note.textContent = full ? "An order can have at most " + max + " lines." : ""; }
    return full;
  }

  function addLine(button) {
    var prefix = button.dataset.prefix;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById("line-template");
    var index = parseInt(total.value, 10);
    if (atLineLimit(button, index)) { return; }
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    html = html.replace(/__number__/g, String(index + 1));
    document.getElementById("line-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    labelCells(document.getElementById("line-rows").closest("table"));
    atLineLimit(button, index + 1);
  }

  // Narrow screens show each table row as a card: every cell is led by its column's name (see app.css).
  function labelCells(table) {
    var heads = table.tHead ? Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return th.textContent.trim();
    }) : [];
    if (!heads.length) { return; }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label")) { cell.setAttribute("data-label", cell.colSpan > 1 ? "" : heads[column] || ""); }
          column += cell.colSpan;
        });
      });
    });
  }

  function labelAllTables(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("table.table").forEach(labelCells);
    if (root.matches && root.matches("table.table")) { labelCells(root); }
    // A part of a table swapped in on its own (an order's lines, out of band) is labelled by its table.
    var table = root.closest && !root.matches("table") ? root.closest("table.table") : null;
    if (table) { labelCells(table); }
  }

  // Each product's list price and unit: a blank unit price means the list price (the field's placeholder) for a
  // buyer who pays in the home currency (list prices are in it; another currency's order needs its own prices),
  // and the unit the product is sold by shows beside the quantity.
  var productsNode = document.getElementById("product-info");
  var products = productsNode ? JSON.parse(productsNode.textContent) : {};

  function rowField(row, suffix) { return row.querySelector("[name$='-" + suffix + "']"); }

  // Money as kadouri/display.py writes it: "$" only for US dollars in a USD-home company, else "CAD 1,250.00".
  // The order's amounts are in its buyer's currency; a product's list price is in the home currency.
  var currencyNode = document.getElementById("currency-info");
  var currencies = currencyNode ? JSON.parse(currencyNode.textContent) : {home: "USD", buyers: {}};

  function money(text, code) {
    var n = Number(text);
    var digits = Math.abs(n).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    code = code || currencies.home;
    if (code === "USD" && currencies.home === "USD") { return (n < 0 ? "-$" : "$") + digits; }
    return code + " " + (n < 0 ? "-" : "") + digits;
  }

  function orderCurrency() {
    var buyer = document.querySelector("select[name='buyer']");
    return (buyer && currencies.buyers[buyer.value]) || currencies.home;
  }

  function foreignOrder() { return orderCurrency() !== currencies.home; }

  function showProduct(row) {
    var product = rowField(row, "product"), price = rowField(row, "unit_price");
    var info = product ? products[product.value] : null;
    if (price) { price.placeholder = info && !foreignOrder() ? info.price : ""; }
    var unit = row.querySelector(".line-unit"), listPrice = row.querySelector(".line-list-price");
    if (unit) { unit.textContent = info ? info.unit : ""; }
    if (listPrice) { listPrice.textContent = info ? "List price " + money(info.price) + " per " + info.unit : ""; }
  }

  function cents(text) { var n = Number(text); return isFinite(n) ? Math.round(n * 100) : NaN; }

  function updateRunningTotal() {
    var total = document.getElementById("running-total");
    if (!total) { return; }
    var sum = 0;
    document.querySelectorAll(".line-row").forEach(function (row) {
      var del = rowField(row, "DELETE"), qty = rowField(row, "quantity"), price = rowField(row, "unit_price");
      if (!qty || !price || (del && del.checked) || row.closest("template")) { return; }
      var unit = price.value !== "" ? price.value : (foreignOrder() ? "" : price.placeholder);
      var amount = Number(qty.value) * cents(unit);
      if (isFinite(amount) && qty.value !== "" && unit !== "") { sum += Math.round(amount); }
    });
    total.textContent = money(sum / 100, orderCurrency());
  }

  // QuickBooks' quantity on hand by each line of a product that tracks stock, and a warning when the order's lines
  // of it together ask for more (docs/quickbooks/beyond.md#stock). A warning only: QuickBooks allows it. A posted
  // order's own goods are off QuickBooks' quantity already (stock-taken): they count back.
  var takenNode = document.getElementById("stock-taken");
  var taken = takenNode ? JSON.parse(takenNode.textContent) : {};

  function keptRows() {
    return Array.prototype.filter.call(document.querySelectorAll(".line-row"), function (row) {
      var del = rowField(row, "DELETE");
      return !row.closest("template") && !(del && del.checked);
    });
  }

  function updateStock() {
    var asked = {};
    keptRows().forEach(function (row) {
      var product = rowField(row, "product"), qty = rowField(row, "quantity");
      var n = qty ? Number(qty.value) : NaN;
      if (product && product.value && qty.value !== "" && isFinite(n)) { asked[product.value] = (asked[product.value] || 0) + n; }
    });
    document.querySelectorAll(".line-row").forEach(function (row) {
      var note = row.querySelector(".line-stock"), product = rowField(row, "product");
      if (!note || row.closest("template")) { return; }
      var info = product ? products[product.value] : null;
      if (!info || !("stockAt" in info)) { note.textContent = ""; note.classList.remove("short"); return; }
      var text = "On hand in QuickBooks: " + (info.stock === null ? "not read yet" : info.stock + " " + info.unit + " (as of " + info.stockAt + ")");
      var available = Number(info.stock) + Number(taken[product.value] || 0);
      var wanted = asked[product.value] || 0;
      var short = info.stock !== null && wanted > available;
      if (short) { text += ". This order asks for " + wanted + " " + info.unit + " in all: more than on hand (it can still be saved)."; }
      note.textContent = text;
      note.classList.toggle("short", short);
    });
  }

  document.addEventListener("input", updateRunningTotal);
  document.addEventListener("input", updateStock);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".line-row").forEach(showProduct);
    var addButton = document.getElementById("add-line");
    var totalForms = addButton && document.getElementById("id_" + addButton.dataset.prefix + "-TOTAL_FORMS");
    if (totalForms) { atLineLimit(addButton, parseInt(totalForms.value, 10)); }
    labelAllTables(document);
    updateRunningTotal();
    updateStock();
  });
  document.addEventListener("htmx:load", function (event) { labelAllTables(event.target); });

  // "Remove" marks the row at once; the server drops it on save (and the box can be unticked to keep it).
  document.addEventListener("change", function (event) {
    var box = event.target;
    var row = box.closest ? box.closest(".line-row") : null;
    if (row && box.name && /-DELETE$/.test(box.name)) { row.classList.toggle("removed", box.checked); }
    if (row && box.name && /-product$/.test(box.name)) { showProduct(row); }
    if (box.name === "buyer") { document.querySelectorAll(".line-row").forEach(showProduct); }
    updateRunningTotal();
    updateStock();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#add-line");
    if (button) { event.preventDefault(); addLine(button); }
  });

  // Live parts (data-live) poll for changes. While one of their own buttons is working, its answer is the news:
  // skip the poll, and drop a poll answer that arrives meanwhile.
  function busyLivePart(elt) {
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live")) { return false; }
    return elt.querySelector(".htmx-request") !== null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (busyLivePart(event.detail.elt)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;  // the poll's own answer is a GET; a button's answer must swap
    if (config && config.verb === "get" && busyLivePart(event.detail.target)) { event.detail.shouldSwap = false; }
  });

  // A "Copy" button (data-copy) copies the text of the field beside it and says so for a moment.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    var field = button && button.parentNode ? button.parentNode.querySelector("input") : null;
    if (!field) { return; }
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    function say(text) { button.textContent = text; setTimeout(function () { button.textContent = label; }, 2500); }
    // Without the clipboard (a page not served over HTTPS, a refused permission) the text is selected to copy by hand.
    function byHand() { field.focus(); field.select(); say("Selected: press Ctrl+C"); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { say("Copied"); }, byHand);
    } else { byHand(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // htmx handled this submit already (it prevents the default and asks its own hx-confirm): don't ask twice.
    if (event.defaultPrevented) { return; }
    var question = form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.dataset.submitted === "true") { event.preventDefault(); return; }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  });
})();
