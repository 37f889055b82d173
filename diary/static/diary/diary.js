/* The diary page: saves through the API, keeps entries on the phone while there is no signal,
   and sends them (exactly once: every row carries its own UUID) when the signal returns. */
(function () {
  "use strict";
  var QUEUE = "ags-diary-queue";
  var form = document.getElementById("day-form");
  var box = document.getElementById("sync-status");
  var lang = document.documentElement.lang || "en";
  var T = box ? box.dataset : {};  // the page's own translated wording
  // Bar heights come from data attributes: the Content-Security-Policy forbids style attributes.
  Array.prototype.forEach.call(document.querySelectorAll(".bars .bar[data-h]"), function (bar) {
    bar.style.setProperty("--h", bar.dataset.h);
  });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
  }
  var signOut = document.querySelector("form[action$='/logout/']");
  if (signOut && navigator.serviceWorker && navigator.serviceWorker.controller) {
    signOut.addEventListener("submit", function () { navigator.serviceWorker.controller.postMessage("forget-pages"); });
  }

  function load() { try { return JSON.parse(localStorage.getItem(QUEUE)) || []; } catch (e) { return []; } }
  function store(queue) { localStorage.setItem(QUEUE, JSON.stringify(queue)); render(); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function localToday() {
    var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 10);
  }
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    var cookie = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return cookie ? decodeURIComponent(cookie[1]) : field ? field.value : "";
  }

  /* The form as API calls: one per row, each with the row's UUID (and version for a change). */
  function toCalls(fd, noSymptoms) {
    var child = Number(form.dataset.child), date = fd.get("date"), calls = [];
    function call(path, id, version, body) {
      body.id = id; body.child = child; body.date = date;
      if (Number(version)) { body.version = Number(version); calls.push({method: "PATCH", url: "/api/" + path + "/" + id + "/", body: body}); }
      else calls.push({method: "POST", url: "/api/" + path + "/", body: body});
    }
    var scores = {};
    fd.forEach(function (value, key) { if (key.indexOf("item-") === 0) scores[key.slice(5)] = Number(value); });
    var entry = {scores: scores, no_symptoms: noSymptoms, max_temperature: (fd.get("max_temperature") || "").trim().replace(",", ".") || null,
                 illness: fd.get("illness") === "on", note: fd.get("note") || ""};
    if (Number(fd.get("entry_version")) || noSymptoms || Object.keys(scores).length || entry.max_temperature || entry.illness || entry.note.trim()) {
      call("entries", fd.get("entry_id"), fd.get("entry_version"), entry);
    }
    var allGiven = fd.get("all_given") === "on";
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.dose"), function (set) {
      var p = set.id, status = allGiven ? "given" : fd.get(p + "-status");
      if (!status) return;
      call("doses", fd.get(p + "-id"), fd.get(p + "-version"), {drug: set.dataset.drug, slot: set.dataset.slot, status: status,
        given_mg: status === "different" ? (fd.get(p + "-mg") || "").replace(",", ".") || null : null});
    });
    if ((fd.get("steroid-mg") || "").trim()) {
      call("steroids", fd.get("steroid-id"), 0, {drug: fd.get("steroid-drug"), mg: fd.get("steroid-mg").replace(",", ".")});
    }
    var w = (fd.get("weight_kg") || "").trim(), h = (fd.get("height_cm") || "").trim();
    if (Number(fd.get("growth-version")) || w || h) {
      call("growth", fd.get("growth-id"), fd.get("growth-version"), {weight_kg: w.replace(",", ".") || null, height_cm: h.replace(",", ".") || null});
    }
    return calls;
  }

  /* Send the calls not yet sent. Resolves "ok", "offline", or {problem}. */
  function send(item) {
    var pending = item.calls.filter(function (c) { return !c.done; });
    return pending.reduce(function (previous, c) {
      return previous.then(function (state) {
        if (state !== "ok") return state;
        var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, 15000);
        return fetch(c.url, {method: c.method, credentials: "same-origin", signal: abort.signal,
          headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()},
          body: JSON.stringify(c.body)})
          .then(function (response) {
            clearTimeout(timer);
            if (response.ok) { c.done = true; persist(item); return "ok"; }
            // The server stored nothing (503) or failed: keep the entry on the phone and retry.
            if (response.status >= 500) return "offline";
            if (response.status === 401 || response.status === 403) return {problem: T.signin, status: response.status};
            return response.json().catch(function () { return {}; }).then(function (body) {
              return {problem: body.detail || JSON.stringify(body), status: response.status};
            });
          }, function () { clearTimeout(timer); return "offline"; });
      });
    }, Promise.resolve("ok"));
  }
  function persist(item) {
    store(load().map(function (other) { return other.key === item.key ? item : other; }));
  }
  function drop(key) { store(load().filter(function (other) { return other.key !== key; })); }

  var syncing = false;
  function syncAll() {
    if (syncing) return Promise.resolve();
    syncing = true;
    var items = load().filter(function (i) { return !i.problem; });
    return items.reduce(function (previous, item) {
      return previous.then(function () {
        return send(item).then(function (result) {
          if (result === "ok") drop(item.key);
          else if (result !== "offline") { item.problem = result.problem; persist(item); }
        });
      });
    }, Promise.resolve()).then(function () { syncing = false; }, function () { syncing = false; });
  }

  function render() {
    if (!box) return;
    var queue = load();
    box.hidden = queue.length === 0;
    box.textContent = "";
    if (!queue.length) return;
    var waiting = queue.filter(function (i) { return !i.problem; });
    var problems = queue.filter(function (i) { return i.problem; });
    if (waiting.length) {
      var p = document.createElement("p"); p.textContent = T.waiting; box.appendChild(p);
      var ul = document.createElement("ul");
      waiting.forEach(function (i) { var li = document.createElement("li"); li.textContent = i.label; ul.appendChild(li); });
      box.appendChild(ul);
    }
    problems.forEach(function (i) {
      var p = document.createElement("p");
      p.textContent = T.problem + " " + i.label + " (" + i.problem + ") ";
      var a = document.createElement("a"); a.href = i.page + "?date=" + i.date; a.textContent = T.open;
      var b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = T.discard;
      b.addEventListener("click", function () { drop(i.key); });
      p.appendChild(a); p.appendChild(document.createTextNode(" · ")); p.appendChild(b);
      box.appendChild(p);
    });
  }

  function plainSubmit(submitter) {
    if (submitter && submitter.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  /* Put the parent's answers back; ids and versions stay as the page has them now. */
  function restore(item) {
    item.form.forEach(function (pair) {
      Array.prototype.forEach.call(form.querySelectorAll("[name='" + pair[0] + "']"), function (f) {
        if (f.type === "hidden") return;
        if (f.type === "radio" || f.type === "checkbox") f.checked = f.value === pair[1] || (f.type === "checkbox" && pair[1] === "on");
        else f.value = pair[1];
      });
    });
  }

  /* A page kept from an earlier day, opened without a signal: make it today's blank page. */
  function freshenCachedPage() {
    if (navigator.onLine || location.search.indexOf("date=") !== -1) return;
    var today = localToday();
    if (form.dataset.date === today) return;
    form.dataset.date = today;
    form.elements.date.value = today;
    form.reset();
    Array.prototype.forEach.call(form.querySelectorAll("input[name$='-id'], input[name=entry_id]"), function (f) { f.value = uuid(); });
    Array.prototype.forEach.call(form.querySelectorAll("input[name$='-version'], input[name=entry_version]"), function (f) { f.value = "0"; });
    var line = document.getElementById("dayline");
    if (line) line.textContent = line.dataset.today + ", " + new Date(today + "T12:00:00").toLocaleDateString(lang, {weekday: "long", day: "numeric", month: "long", year: "numeric"});
  }

  if (form) {
    freshenCachedPage();
    var mine = load().filter(function (i) { return i.problem && i.page === form.dataset.page && i.date === form.dataset.date; });
    if (mine.length) {
      restore(mine[mine.length - 1]);
      var note = document.createElement("p"); note.className = "msg"; note.setAttribute("role", "status"); note.textContent = T.restored;
      form.parentNode.insertBefore(note, form);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      var noSymptoms = !!(submitter && submitter.name === "no_symptoms");
      var fd = new FormData(form);
      var calls = toCalls(fd, noSymptoms);
      if (!calls.length) { plainSubmit(submitter); return; }
      var pairs = []; fd.forEach(function (v, k) { pairs.push([k, String(v)]); });
      var item = {key: uuid(), page: form.dataset.page, date: fd.get("date"), calls: calls, form: pairs, problem: null,
                  label: document.querySelector("h1").textContent.trim() + ", " + fd.get("date")};
      // Kept on the phone first, so a lost signal mid-way loses nothing.
      store(load().filter(function (i) { return !(i.page === item.page && i.date === item.date && i.problem); }).concat([item]));
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
      send(item).then(function (result) {
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
        if (result === "ok") {
          drop(item.key);
          location.assign(item.page + "?date=" + item.date + "&saved=1");
        } else if (result === "offline") {
          var saved = document.createElement("p"); saved.className = "msg success"; saved.setAttribute("role", "status");
          saved.textContent = form.dataset.savedMsg;
          box.parentNode.insertBefore(saved, box);
          saved.scrollIntoView();
          form.reset();
          Array.prototype.forEach.call(form.querySelectorAll("input[name$='-id'], input[name=entry_id], input[name=steroid-id]"), function (f) { f.value = uuid(); });
        } else if (result.status === 401 || result.status === 403) {
          item.problem = result.problem; persist(item);
        } else {
          // Errors and conflicts are explained by the page itself, next to each answer.
          drop(item.key);
          plainSubmit(submitter);
        }
      });
    });
  }
  render();
  window.addEventListener("online", syncAll);
  if (navigator.onLine) syncAll();
  setInterval(function () { if (navigator.onLine && load().some(function (i) { return !i.problem; })) syncAll(); }, 30000);
})();
