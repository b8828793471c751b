// Progressive enhancement only: every page works without this file.
// 1. Airport suggestions while typing in From/To (fills the input's <datalist>).
// 2. A submit button marked data-once cannot be pressed twice while its page loads.
(function () {
  "use strict";
  function suggest(input) {
    var list = document.getElementById(input.getAttribute("data-airport"));
    if (!list) { return; }
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (q.length < 2 || q === last || /^[A-Za-z]{3}$/.test(q) && q === q.toUpperCase()) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        last = q;
        fetch("/api/v1/airports?limit=8&q=" + encodeURIComponent(q), { headers: { accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { airports: [] }; })
          .then(function (body) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            (body.airports || []).forEach(function (a) {
              var o = document.createElement("option");
              o.value = a.iata;
              o.label = a.city + " — " + a.name + " (" + a.iata + ")";
              o.textContent = o.label;
              list.appendChild(o);
            });
          })
          .catch(function () { /* suggestions are a nicety; typing a city still works */ });
      }, 200);
    });
  }
  document.querySelectorAll("input[data-airport]").forEach(suggest);
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[data-once]").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
})();
