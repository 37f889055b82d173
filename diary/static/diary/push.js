/* Notifications on this device (the reminders page): subscribe through the browser's push
   service with the server's VAPID key, and hand the subscription to the server; or withdraw
   it. The service worker (/sw.js) shows what arrives. */
(function () {
  "use strict";
  var box = document.getElementById("notifications");
  if (!box) return;
  var state = document.getElementById("push-state");
  var on = document.getElementById("push-on"), off = document.getElementById("push-off");
  var T = box.dataset;

  function say(text) { state.textContent = text; }
  function show(subscribed) { on.hidden = subscribed; off.hidden = !subscribed; say(subscribed ? T.on : T.off); }
  function csrfToken() {
    var cookie = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return cookie ? decodeURIComponent(cookie[1]) : field ? field.value : "";
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()}});
  }
  function keyBytes(base64url) {
    var text = atob((base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // Sign-out from this page too: the worker forgets the kept pages and this device's pushes.
  var signOut = document.querySelector("form[action$='/logout/']");
  if (signOut && navigator.serviceWorker) {
    signOut.addEventListener("submit", function () {
      if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("forget-pages");
    });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(T.unsupported);
    return;
  }
  var ready = navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function () { return navigator.serviceWorker.ready; });

  ready.then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) { show(!!sub && Notification.permission === "granted"); })
    .catch(function () { say(T.unsupported); });

  on.addEventListener("click", function () {
    on.disabled = true;
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") throw new Error("denied");
        return ready;
      })
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (sub) {
          return sub || reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(T.key)});
        });
      })
      .then(function (sub) { return post(T.subscribeUrl, sub.toJSON()); })
      .then(function (response) {
        if (!response.ok) throw new Error("refused");
        window.location.reload();  // the list of devices shows this one
      })
      .catch(function (error) {
        on.disabled = false;
        say(error && error.message === "denied" ? T.denied : T.failed);
      });
  });

  off.addEventListener("click", function () {
    off.disabled = true;
    ready.then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () { return post(T.unsubscribeUrl, {endpoint: endpoint}); });
      })
      .then(function () { window.location.reload(); })
      .catch(function () { off.disabled = false; say(T.failed); });
  });
})();
