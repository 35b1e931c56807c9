/* LANBill admin: the few things a plain form cannot do.  Everything works
   without it; with it buttons and forms marked data-confirm ask first, the
   class switch hides (and empties) the other class's fields, and the
   address picker walks the directory.  Loaded once by base.html: the
   Content-Security-Policy allows no inline script or handler. */
(function () {
  "use strict";
  if (window.lanbillLoaded) { return; }
  window.lanbillLoaded = true;

  // "Delete …?" before a destructive button or form is sent.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-confirm], input[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });

  // Class switch on a new subscriber (seed 002): the other class's fields
  // are not kept.
  document.querySelectorAll(".kind-switch input[type=radio]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      document.querySelectorAll(".class-fields").forEach(function (group) {
        var mine = group.dataset.kind === radio.value;
        group.hidden = !mine;
        if (!mine) {
          group.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
        }
      });
    });
  });

  function fill(select, rows, selected) {
    select.innerHTML = "";
    var empty = document.createElement("option");
    empty.value = ""; empty.textContent = "—";
    select.appendChild(empty);
    rows.forEach(function (row) {
      var option = document.createElement("option");
      option.value = row.id;
      option.textContent = row.name + (row.postal_index ? " (" + row.postal_index + ")" : "");
      if (String(row.id) === String(selected)) { option.selected = true; }
      select.appendChild(option);
    });
  }

  var ORDER = ["region", "city", "street", "building"];

  function csrf() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  document.querySelectorAll(".address-picker").forEach(function (picker) {
    var levels = picker.querySelector(".picker-levels");
    var hidden = picker.querySelector("input.building-id");
    var selects = {};
    picker.querySelectorAll("select[data-level]").forEach(function (s) { selects[s.dataset.level] = s; });
    var initial = {};
    try { initial = JSON.parse(picker.dataset.initial || "{}") || {}; } catch (e) { initial = {}; }
    levels.hidden = false;

    function load(level, parent, selected) {
      var url = picker.dataset.lookup + "?level=" + level + (parent ? "&parent=" + parent : "");
      return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); })
        .then(function (rows) { fill(selects[level], rows, selected); });
    }
    function clearBelow(level) {
      for (var i = ORDER.indexOf(level) + 1; i < ORDER.length; i++) { fill(selects[ORDER[i]], [], ""); }
    }
    ORDER.forEach(function (level, i) {
      selects[level].addEventListener("change", function () {
        clearBelow(level);
        if (level === "building") { hidden.value = selects.building.value; return; }
        hidden.value = "";
        if (selects[level].value) { load(ORDER[i + 1], selects[level].value, ""); }
      });
    });
    picker.querySelectorAll("button.add-entry").forEach(function (button) {
      button.addEventListener("click", function () {
        var level = button.dataset.level;
        var parentLevel = ORDER[ORDER.indexOf(level) - 1];
        var parent = selects[parentLevel].value;
        if (!parent) { return; }
        var name = window.prompt(button.textContent);
        if (!name) { return; }
        var body = new URLSearchParams({level: level, parent: parent, name: name, csrf_token: csrf()});
        fetch(picker.dataset.add, {method: "POST", body: body, credentials: "same-origin",
                                   headers: {"X-CSRFToken": csrf()}})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.error) { window.alert(data.error); return; }
            load(level, parent, data.id).then(function () {
              if (level === "building") { hidden.value = data.id; }
            });
          });
      });
    });
    var chain = load("region", null, initial.region ? initial.region.id : "");
    if (initial.region) {
      chain.then(function () { return load("city", initial.region.id, initial.city.id); })
        .then(function () { return load("street", initial.city.id, initial.street.id); })
        .then(function () { return load("building", initial.street.id, initial.building.id); });
    }
  });

  // "Generate password": a random password typed into the field and shown,
  // so staff can read it to the subscriber.  No look-alike characters.
  var PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  document.querySelectorAll("[data-generate-password]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.generatePassword);
      if (!input || !window.crypto) { return; }
      var bytes = new Uint8Array(12), out = "";
      window.crypto.getRandomValues(bytes);
      bytes.forEach(function (b) { out += PASSWORD_ALPHABET.charAt(b % PASSWORD_ALPHABET.length); });
      input.type = "text";
      input.value = out;
      input.focus();
    });
  });

  // "Next free IP": ask the server for the chosen agent's next free pool
  // address and add it to the account's addresses.
  document.querySelectorAll("[data-next-ip]").forEach(function (button) {
    var message = document.getElementById("next-free-ip-message");
    button.addEventListener("click", function () {
      var select = document.getElementById(button.dataset.agentSelect);
      var agent = button.dataset.agent || (select ? select.value : "");
      var url = button.dataset.nextIp + "?agent=" + encodeURIComponent(agent || "0");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var target = document.getElementById(button.dataset.target);
          if (data.ip && target) {
            var current = target.value.trim();
            target.value = current ? current + "\n" + data.ip : data.ip;
          }
          if (message) { message.textContent = data.message || ""; }
        });
    });
  });

  // The grouped menu: one group open at a time; a click elsewhere closes it.
  var groups = document.querySelectorAll("details.menu-group");
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("details.menu-group")) { return; }
    groups.forEach(function (group) { group.open = false; });
  });
})();
