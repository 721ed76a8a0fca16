// Offline search over the prebuilt index (assets/search-index.js). Results are built with
// textContent only, so names and descriptions from servers can never become markup.
(function () {
  "use strict";
  var index = window.TOOLATLAS_INDEX || [];
  var params = new URLSearchParams(window.location.search);
  var q = (params.get("q") || "").trim().toLowerCase();
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  if (input) { input.value = params.get("q") || ""; }
  if (!q) { status.textContent = "Type a tool or server name, a category (read, write, execute, destructive, financial) or a risk level."; return; }
  var words = q.split(/\s+/).filter(Boolean);
  var hits = [];
  for (var i = 0; i < index.length; i++) {
    var e = index[i];
    var hay = (e.n + " " + e.s + " " + e.c + " " + e.r + " " + e.d).toLowerCase();
    var ok = true, score = 0;
    for (var w = 0; w < words.length; w++) {
      var at = hay.indexOf(words[w]);
      if (at < 0) { ok = false; break; }
      if (e.n.toLowerCase().indexOf(words[w]) >= 0) { score += 10; }
      if (e.s.toLowerCase().indexOf(words[w]) >= 0) { score += 3; }
      score += 1;
    }
    if (ok) { hits.push({ e: e, score: score }); }
  }
  hits.sort(function (a, b) { return b.score - a.score || (a.e.n < b.e.n ? -1 : a.e.n > b.e.n ? 1 : 0); });
  status.textContent = hits.length + (hits.length === 1 ? " result" : " results") + " for \u201c" + q + "\u201d";
  var shown = hits.slice(0, 200);
  for (var k = 0; k < shown.length; k++) {
    var h = shown[k].e;
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.setAttribute("href", h.u);
    a.textContent = h.k === "server" ? h.n : h.n + " (" + h.s + ")";
    li.appendChild(a);
    var meta = document.createElement("span");
    meta.className = "conf";
    meta.textContent = h.k === "server" ? " server" : " " + h.c + ", " + h.r + " risk";
    li.appendChild(meta);
    list.appendChild(li);
  }
})();
