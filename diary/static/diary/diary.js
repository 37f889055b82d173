/* The diary page. A day is saved whole in one request (POST /api/days/). Without a signal the
   day is kept on the phone, one item per child and day, replaced by the latest edit, and sent
   when the signal returns; every row carries its own UUID, so a replay never duplicates. Any day
   of the last 30 opens without a signal: the service worker serves an empty day page and this
   script fills in that day, as last saved or kept on this phone, never another day's answers. */
(function () {
  "use strict";
  var QUEUE = "ags-diary-queue", DAYS = "ags-diary-days", SENT = "ags-diary-sent";
  var KEEP_DAYS = 60, SENT_SHOWN_MS = 10 * 60 * 1000;
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
  if (signOut) {
    signOut.addEventListener("submit", function () {
      // What was sent stays on the server; what is not sent yet stays on the phone.
      localStorage.removeItem(DAYS); localStorage.removeItem(SENT);
      if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("forget-pages");
    });
  }

  function read(key, fallback) { try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; } }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function load() { return read(QUEUE, []).map(upgrade); }
  function store(queue) { write(QUEUE, queue); render(); }
  function dayKey(child, date) { return child + "|" + date; }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function isoDay(d) { d = new Date(d.getTime()); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 10); }
  function localToday() { return isoDay(new Date()); }
  function daysBetween(a, b) { return Math.round((new Date(b + "T12:00:00") - new Date(a + "T12:00:00")) / 864e5); }
  /* "Monday 30 November" / "lundi 30 novembre", as the server writes dates on the pages. */
  function dayLabel(date, withYear) {
    var d = new Date(date + "T12:00:00");
    function part(options) { return d.toLocaleDateString(lang, options); }
    return [part({weekday: "long"}), d.getDate(), part({month: "long"})].concat(withYear ? [d.getFullYear()] : []).join(" ");
  }
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    var cookie = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return cookie ? decodeURIComponent(cookie[1]) : field ? field.value : "";
  }
  function num(v) { var n = Number(v); return n > 0 ? n : null; }
  function dec(v) { v = String(v == null ? "" : v).trim().replace(",", "."); return v || null; }
  function plainNumber(v) { return v == null || v === "" ? "" : String(Number(v)); }

  /* A queue item kept by the previous version of this page (one call per row): the same rows
     as one day. Rows it already sent come back as replays. */
  function upgrade(item) {
    if (item.body || !item.calls) return item;
    var body = {child: null, date: item.date, entry: null, doses: [], steroids: [], growth: null};
    item.calls.forEach(function (c) {
      var row = Object.assign({}, c.body);
      body.child = row.child; delete row.child; delete row.date;
      if (c.url.indexOf("/api/entries/") === 0) body.entry = row;
      else if (c.url.indexOf("/api/doses/") === 0) body.doses.push(row);
      else if (c.url.indexOf("/api/steroids/") === 0) body.steroids.push(row);
      else body.growth = row;
    });
    return {key: dayKey(body.child, item.date), child: body.child, date: item.date, page: item.page, body: body,
            form: item.form, problem: item.problem, label: item.label};
  }

  /* --- What this phone knows of each day: as last saved, by the server's rows -------------- */

  function rememberDay(child, date, pairs) {
    var days = read(DAYS, {});
    days[dayKey(child, date)] = {pairs: pairs, at: Date.now()};
    var keys = Object.keys(days).sort(function (a, b) { return days[b].at - days[a].at; });
    keys.slice(KEEP_DAYS).forEach(function (k) { delete days[k]; });
    write(DAYS, days);
  }
  function rememberedDay(child, date) { var d = read(DAYS, {})[dayKey(child, date)]; return d ? d.pairs : null; }

  /* A stored day (the API's shape) as the form's fields. */
  function pairsFromDay(day) {
    var p = [["date", day.date]], e = day.entry, g = day.growth;
    if (e) {
      p.push(["entry_id", e.id], ["entry_version", String(e.version)], ["no_symptoms_kept", e.no_symptoms ? "1" : "0"]);
      Object.keys(e.scores || {}).forEach(function (k) { p.push(["item-" + k, String(e.scores[k])]); });
      if (e.max_temperature != null) p.push(["max_temperature", plainNumber(e.max_temperature)]);
      if (e.illness) p.push(["illness", "on"]);
      if (e.zoster) p.push(["zoster", "on"]);
      if (e.note) p.push(["note", e.note]);
      ["seizure_count", "seizure_longest_min"].forEach(function (k) { if (e[k] != null) p.push([k, plainNumber(e[k])]); });
      if (e.seizure_rescue != null) p.push(["seizure_rescue", e.seizure_rescue ? "yes" : "no"]);
    }
    (day.doses || []).forEach(function (d) {
      var x = "dose-" + d.drug + "-" + d.slot;
      p.push([x + "-id", d.id], [x + "-version", String(d.version)], [x + "-status", d.status]);
      if (d.status === "different") p.push([x + "-mg", plainNumber(d.given_mg)]);
    });
    if (g) {
      p.push(["growth-id", g.id], ["growth-version", String(g.version)]);
      if (g.weight_kg != null) p.push(["weight_kg", plainNumber(g.weight_kg)]);
      if (g.height_cm != null) p.push(["height_cm", plainNumber(g.height_cm)]);
    }
    return p;
  }

  /* --- The form as one day --------------------------------------------------------------- */

  function dayBody(fd, submitter) {
    var name = submitter && submitter.name, both = name === "no_symptoms_all_given";
    var scores = {};
    fd.forEach(function (value, key) { if (key.indexOf("item-") === 0) scores[key.slice(5)] = Number(value); });
    var anyScore = Object.keys(scores).some(function (k) { return scores[k] > 0; });
    // "No symptoms" stays when every answer is still 0: adding doses later must not undo it.
    var noSymptoms = name === "no_symptoms" || both || (fd.get("no_symptoms_kept") === "1" && !anyScore);
    var entry = {id: fd.get("entry_id"), version: num(fd.get("entry_version")), scores: scores, no_symptoms: noSymptoms,
                 max_temperature: dec(fd.get("max_temperature")), illness: fd.get("illness") === "on", zoster: fd.get("zoster") === "on",
                 note: fd.get("note") || ""};
    var seizures = false;
    ["seizure_count", "seizure_longest_min"].forEach(function (k) {
      if (fd.has(k) && dec(fd.get(k))) { entry[k] = dec(fd.get(k)); seizures = true; }
    });
    if (fd.get("seizure_rescue") === "yes" || fd.get("seizure_rescue") === "no") { entry.seizure_rescue = fd.get("seizure_rescue") === "yes"; seizures = true; }
    var hasEntry = entry.version || noSymptoms || Object.keys(scores).length || entry.max_temperature || entry.illness || entry.zoster || entry.note.trim() || seizures;
    var allGiven = both || fd.get("all_given") === "on", doses = [];
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.dose"), function (set) {
      var p = set.id, status = allGiven ? "given" : fd.get(p + "-status");
      if (!status) return;
      doses.push({id: fd.get(p + "-id"), version: num(fd.get(p + "-version")), drug: set.dataset.drug, slot: set.dataset.slot,
                  status: status, given_mg: status === "different" ? dec(fd.get(p + "-mg")) : null});
    });
    var steroids = [];
    if (dec(fd.get("steroid-mg"))) steroids.push({id: fd.get("steroid-id"), drug: fd.get("steroid-drug"), mg: dec(fd.get("steroid-mg"))});
    var w = dec(fd.get("weight_kg")), h = dec(fd.get("height_cm")), gv = num(fd.get("growth-version"));
    return {child: Number(form.dataset.child), date: fd.get("date"), entry: hasEntry ? entry : null, doses: doses,
            steroids: steroids, growth: gv || w || h ? {id: fd.get("growth-id"), version: gv, weight_kg: w, height_cm: h, confirm_sds: fd.get("confirm_sds") === "1"} : null};
  }
  function isEmpty(body) { return !body.entry && !body.doses.length && !body.steroids.length && !body.growth; }

  function formPairs(fd) {
    var pairs = [];
    fd.forEach(function (v, k) { if (k !== "csrfmiddlewaretoken") pairs.push([k, String(v)]); });
    return pairs;
  }

  /* Fill the form with PAIRS alone: every other answer is cleared, and rows the pairs do not
     name get new ids (a new row), so nothing of another day or version stays behind. */
  function fill(pairs) {
    var values = {};
    pairs.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.name === "csrfmiddlewaretoken" || f.name === "date" || f.type === "submit") return;
      var given = values[f.name];
      if (f.type === "hidden") {
        if (given) f.value = given[0];
        else if (/(^entry_id|-id)$/.test(f.name)) f.value = uuid();
        else if (/(^entry_version|-version)$/.test(f.name) || f.name === "no_symptoms_kept") f.value = "0";
      } else if (f.type === "radio" || f.type === "checkbox") {
        f.checked = !!given && (given.indexOf(f.value) !== -1 || (f.type === "checkbox" && given.indexOf("on") !== -1));
      } else if (f.tagName === "SELECT") {
        if (given) f.value = given[0]; else f.selectedIndex = 0;
      } else {
        f.value = given ? given[0] : "";
      }
    });
    form.dispatchEvent(new Event("change"));
  }
  function setPair(pairs, name, value) {
    var found = false;
    pairs.forEach(function (pair) { if (pair[0] === name) { pair[1] = value; found = true; } });
    if (!found) pairs.push([name, value]);
  }

  /* --- Sending ---------------------------------------------------------------------------- */

  /* One request for the whole day. Resolves {state: "ok" | "offline" | "refused", status, body}. */
  function send(item) {
    var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, 15000);
    return fetch("/api/days/", {method: "POST", credentials: "same-origin", signal: abort.signal,
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(item.body)})
      .then(function (response) {
        clearTimeout(timer);
        // The server stored nothing (503) or failed: keep the day on the phone and retry.
        if (response.status >= 500 || response.status === 429) return {state: "offline"};
        return response.json().catch(function () { return {}; }).then(function (body) {
          return {state: response.ok ? "ok" : "refused", status: response.status, body: body};
        });
      }, function () { clearTimeout(timer); return {state: "offline"}; });
  }
  function put(item) { store(load().filter(function (o) { return o.key !== item.key; }).concat([item])); }
  function drop(key) { store(load().filter(function (o) { return o.key !== key; })); }
  function sent(item, day) {
    rememberDay(item.child, item.date, pairsFromDay(day));
    var list = read(SENT, []).filter(function (s) { return Date.now() - s.at < SENT_SHOWN_MS && s.key !== item.key; });
    write(SENT, list.concat([{key: item.key, label: item.label, at: Date.now()}]));
    drop(item.key);
    if (form && form.dataset.child + "|" + form.dataset.date === item.key) adopt(day);
  }
  /* The open page's rows are now at the versions just stored: a further edit changes them. */
  function adopt(day) {
    pairsFromDay(day).forEach(function (pair) {
      var f = form.querySelector("input[type=hidden][name='" + pair[0] + "']");
      if (f) f.value = pair[1];
    });
  }
  /* Why a day could not be sent, in the parent's words (never an exception's text). */
  function problemOf(result) {
    if (result.status === 401 || result.status === 403) return T.signin;
    if (result.status === 404) return T.notfound;
    var messages = [];
    (function walk(node) {
      if (typeof node === "string") messages.push(node);
      else if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") Object.keys(node).forEach(function (k) { if (k !== "detail") walk(node[k]); });
    })(result.body);
    return T.failed + (messages.length ? ": " + messages.slice(0, 3).join(" ") : "");
  }

  /* A 409 whose every row is as this phone sent it in an earlier try of the same day: that send
     arrived although its answer was lost (a signal that dropped mid-request), so the phone's
     newer copy is a correction of its own rows, not a conflict with somebody else. */
  function rowsOf(body) { return [body.entry, body.growth].concat(body.doses || [], body.steroids || []).filter(Boolean); }
  function blank(v) { return v === null || v === undefined || v === "" || v === false; }
  function sameRow(stored, sent) {
    if (!stored || !sent || stored.id !== sent.id) return false;
    return Object.keys(sent).every(function (k) {
      var a = stored[k], b = sent[k];
      if (k === "id" || k === "version" || (k === "given_mg" && sent.status !== "different") || (k === "scores" && sent.no_symptoms)) return true;
      if (k === "scores") return Object.keys(a || {}).length === Object.keys(b || {}).length && Object.keys(b || {}).every(function (i) { return a[i] === b[i]; });
      if (blank(b)) return blank(a);
      if (typeof b === "boolean") return a === b;
      if (!isNaN(Number(b)) && !blank(a) && !isNaN(Number(a))) return Number(a) === Number(b);
      return a === b;
    });
  }
  function ownEcho(item, answer) {
    var conflicts = answer && answer.conflicts, tried = item.tried || [];
    return !!(T.user && tried.length && conflicts && conflicts.length) && conflicts.every(function (c) {
      return c.current.reported_by === T.user && tried.some(function (body) {
        return rowsOf(body).some(function (row) { return sameRow(c.current, row); });
      });
    });
  }
  function againstEcho(item, answer) { item.conflict = answer; return rebase(item); }

  var syncing = false;
  function syncAll() {
    if (syncing) return Promise.resolve();
    syncing = true;
    var items = load().filter(function (i) { return !i.problem && !i.conflict; });
    return items.reduce(function (previous, item) {
      return previous.then(function () {
        return send(item).then(function (result) {
          // A newer edit of the same day replaced this one meanwhile: it goes next time.
          var now = load().filter(function (o) { return o.key === item.key; })[0];
          if (!now || JSON.stringify(now.body) !== JSON.stringify(item.body)) return;
          if (result.state === "ok") { delete item.signin; sent(item, result.body); }
          else if (result.status === 401 || result.status === 403) { item.signin = true; put(item); }
          else if (result.status === 409 && ownEcho(item, result.body)) {
            againstEcho(item, result.body); put(item);
            return send(item).then(function (again) {
              if (again.state === "ok") sent(item, again.body);
              else if (again.status === 409) { item.conflict = again.body; put(item); }
            });
          }
          else if (result.state === "refused" && result.status === 409) { item.conflict = result.body; put(item); }
          else if (result.state === "refused") { item.problem = problemOf(result); put(item); }
        });
      });
    }, Promise.resolve()).then(function () { syncing = false; render(); showConflict(); }, function () { syncing = false; });
  }

  /* --- What the phone shows -------------------------------------------------------------- */

  function el(tag, text, cls) { var e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
  function link(item) { var a = el("a", T.open); a.href = item.page + "?date=" + item.date; return a; }
  function render() {
    if (!box) return;
    var queue = load();
    var recent = read(SENT, []).filter(function (s) { return Date.now() - s.at < SENT_SHOWN_MS; });
    box.textContent = "";
    box.hidden = !queue.length && !recent.length;
    box.classList.toggle("sent", !queue.length);
    recent.forEach(function (s) { box.appendChild(el("p", T.sent + " " + s.label)); });
    var waiting = queue.filter(function (i) { return !i.problem && !i.conflict; });
    if (waiting.length) {
      box.appendChild(el("p", T.waiting));
      var ul = el("ul");
      // Signed out meanwhile: it waits, and goes once the parent signs in again.
      waiting.forEach(function (i) { ul.appendChild(el("li", i.label + (i.signin ? " (" + T.signin + ")" : ""))); });
      box.appendChild(ul);
    }
    queue.filter(function (i) { return i.problem || i.conflict; }).forEach(function (i) {
      var p = el("p", T.problem + " " + i.label + " (" + (i.conflict ? T.conflict : i.problem) + ") ");
      var b = el("button", T.discard, "link"); b.type = "button";
      b.addEventListener("click", function () { drop(i.key); });
      p.appendChild(link(i)); p.appendChild(document.createTextNode(" · ")); p.appendChild(b);
      box.appendChild(p);
    });
  }
  function say(text, cls) {
    var old = document.getElementById("phone-msg");
    if (old) old.remove();
    var p = el("p", text, "msg " + (cls || "")); p.id = "phone-msg"; p.setAttribute("role", "status");
    form.parentNode.insertBefore(p, form);
    p.scrollIntoView();
  }
  function buttons(disabled) { Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = disabled; }); }

  function plainSubmit(submitter) {
    if (submitter && submitter.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  /* A conflict found while sending in the background: both versions, and the parent chooses. */
  function showConflict() {
    if (!form) return;
    var item = load().filter(function (i) { return i.key === dayKey(form.dataset.child, form.dataset.date) && i.conflict; })[0];
    var old = document.getElementById("phone-conflict");
    if (old) old.remove();
    if (!item) return;
    var said = document.getElementById("phone-msg");
    if (said) said.remove();  // "saved on this phone" no longer tells the whole story
    var mine = {}, theirs = {};
    item.form.forEach(function (p) { mine[p[0]] = p[1]; });
    pairsFromDay(item.conflict.day).forEach(function (p) { theirs[p[0]] = p[1]; });
    var panel = el("div", null, "conflict"); panel.id = "phone-conflict"; panel.setAttribute("role", "alert");
    panel.appendChild(el("h2", T.conflictTitle)); panel.appendChild(el("p", T.conflictText));
    var table = el("table"), head = el("tr");
    [T.question, T.theirs, T.mine].forEach(function (t) { var th = el("th", t); th.scope = "col"; head.appendChild(th); });
    table.appendChild(el("thead")).appendChild(head);
    var tbody = table.appendChild(el("tbody"));
    function row(label, a, b) { if ((a || "") === (b || "")) return; var tr = el("tr"); [label, a || "–", b || "–"].forEach(function (t) { tr.appendChild(el("td", t)); }); tbody.appendChild(tr); }
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.item[id^='q-']"), function (set) {
      var key = "item-" + set.id.slice(2);
      row(set.querySelector("legend").textContent, theirs[key], mine[key]);
    });
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.dose"), function (set) {
      var key = set.id + "-status", label = function (v) { var l = v && form.querySelector("label[for='" + set.id + "-" + v + "']"); return l ? l.textContent : v; };
      row(set.querySelector("legend").textContent, label(theirs[key]), label(mine[key]));
    });
    row(T.weight, theirs.weight_kg, mine.weight_kg);
    row(T.height, theirs.height_cm, mine.height_cm);
    var wrap = el("div", null, "table-wrap"); wrap.appendChild(table); panel.appendChild(wrap);
    var actions = el("div", null, "actions");
    var keepTheirs = el("button", T.keepTheirs, "secondary"), keepMine = el("button", T.keepMine);
    keepTheirs.type = keepMine.type = "button";
    keepTheirs.addEventListener("click", function () {
      rememberDay(item.child, item.date, pairsFromDay(item.conflict.day));
      drop(item.key); fill(pairsFromDay(item.conflict.day)); panel.remove();
    });
    keepMine.addEventListener("click", function () { panel.remove(); submitItem(rebase(item), null); });
    actions.appendChild(keepMine); actions.appendChild(keepTheirs); panel.appendChild(actions);
    form.parentNode.insertBefore(panel, form);
  }

  /* ITEM made against the versions now stored, so that sending it replaces them. */
  function rebase(item) {
    var day = item.conflict.day, body = item.body;
    function onto(row, stored) { if (row && stored) { row.id = stored.id; row.version = stored.version; } }
    onto(body.entry, day.entry);
    onto(body.growth, day.growth);
    body.doses.forEach(function (d) { onto(d, (day.doses || []).filter(function (s) { return s.drug === d.drug && s.slot === d.slot; })[0]); });
    body.steroids.forEach(function (d) { onto(d, (day.steroids || []).filter(function (s) { return s.id === d.id; })[0]); });
    if (body.entry) { setPair(item.form, "entry_id", body.entry.id); setPair(item.form, "entry_version", String(body.entry.version || 0)); }
    if (body.growth) { setPair(item.form, "growth-id", body.growth.id); setPair(item.form, "growth-version", String(body.growth.version || 0)); }
    body.doses.forEach(function (d) { var x = "dose-" + d.drug + "-" + d.slot; setPair(item.form, x + "-id", d.id); setPair(item.form, x + "-version", String(d.version || 0)); });
    item.conflict = null; item.problem = null;
    return item;
  }

  /* Keep ITEM on the phone first (so a lost signal mid-way loses nothing), then send it. */
  function submitItem(item, submitter) {
    put(item);
    buttons(true);
    return send(item).then(function (result) {
      buttons(false);
      if (result.state === "ok") {
        drop(item.key);
        rememberDay(item.child, item.date, pairsFromDay(result.body));
        location.assign(item.page + "?date=" + item.date + "&saved=1");
      } else if (result.state === "offline") {
        say(form.dataset.savedMsg, "success");
      } else if (result.status === 409 && ownEcho(item, result.body)) {
        submitItem(againstEcho(item, result.body), submitter);
      } else if ((result.status === 400 || result.status === 409) && !form.dataset.shell) {
        // Explained by the page itself, beside each answer (the same checks, the same words).
        drop(item.key);
        plainSubmit(submitter);
      } else if (result.status === 401 || result.status === 403) {
        item.signin = true; put(item);
        say(form.dataset.savedMsg + " (" + T.signin + ")", "error");
      } else if (result.status === 409) {
        item.conflict = result.body; put(item); showConflict();
      } else {
        item.problem = problemOf(result); put(item);
        say(T.errors + " " + item.problem, "error");
      }
    });
  }

  /* --- The page -------------------------------------------------------------------------- */

  function openDay() {
    var params = new URLSearchParams(location.search), child = form.dataset.child;
    var date = form.dataset.shell ? params.get("date") || localToday() : form.dataset.date;
    if (form.dataset.shell) {
      form.dataset.date = date; form.elements.date.value = date;
      var line = document.getElementById("dayline");
      line.querySelector("strong").textContent = dayLabel(date, true);
      if (date === localToday()) line.insertBefore(document.createTextNode(line.dataset.today + ", "), line.firstChild);
      var age = daysBetween(date, localToday());
      if (!/^\d{4}-\d\d-\d\d$/.test(date) || isNaN(age) || age < 0 || age >= Number(form.dataset.offlineDays)) {
        say(age < 0 ? T.future : T.tooOld, "error");
        buttons(true);
        return;
      }
    } else if (form.dataset.snapshot) {
      rememberDay(child, date, formPairs(new FormData(form)));
    }
    var queued = load().filter(function (i) { return i.key === dayKey(child, date); })[0];
    if (queued) {
      fill(queued.form);
      say(queued.problem ? T.restored : T.queued);
    } else if (form.dataset.shell) {
      fill(rememberedDay(child, date) || [["date", date]]);
    }
    showConflict();
  }

  /* Seizure details only beside a seizures answer above 0 (always shown without this script,
     and whenever they hold something, so nothing typed is hidden). */
  function seizureDetails() {
    var details = document.getElementById("seizure-details");
    if (!details) return;
    var score = form.querySelector("input[name=item-seizures]:checked");
    var typed = Array.prototype.some.call(details.querySelectorAll("input"), function (f) {
      return f.type === "radio" ? f.checked && f.value : f.value.trim();
    });
    details.hidden = !(score && Number(score.value) > 0) && !typed && !details.classList.contains("has-error");
  }

  if (form) {
    form.addEventListener("change", seizureDetails);
    openDay();
    seizureDetails();
    if (navigator.serviceWorker && form.dataset.shellUrl && navigator.onLine) {
      // Keep the empty day page for this child, to open any recent day without a signal.
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.active) reg.active.postMessage({keep: form.dataset.shellUrl});
      }).catch(function () {});
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter, fd = new FormData(form);
      var body = dayBody(fd, submitter);
      if (isEmpty(body)) {
        if (form.dataset.shell) say(T.nothing, "error"); else plainSubmit(submitter);
        return;
      }
      var key = dayKey(body.child, body.date);
      var previous = load().filter(function (i) { return i.key === key; })[0];
      var item = {key: key, child: body.child, date: body.date, page: form.dataset.page, body: body, form: formPairs(fd),
                  problem: null, conflict: null, label: document.querySelector("h1").textContent.trim() + ", " + dayLabel(body.date),
                  // What the phone may already have sent of this day, though no answer came back.
                  tried: previous ? (previous.tried || []).concat([previous.body]).slice(-5) : []};
      // Saving after seeing both versions replaces the saved one, as on the page without a signal.
      if (previous && previous.conflict) { item.conflict = previous.conflict; rebase(item); }
      submitItem(item, submitter);
    });
  }
  render();
  window.addEventListener("online", syncAll);
  if (navigator.onLine) syncAll();
  setInterval(function () { if (navigator.onLine && load().some(function (i) { return !i.problem && !i.conflict; })) syncAll(); }, 30000);
})();
