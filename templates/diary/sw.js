// Offline support: assets cache-first; a child's day page network-first, and without a signal
// the empty day page kept for that child, which the page's script fills in for the day asked
// (a copy of another day is never shown in its place); Past days network-first with its copy.
"use strict";
const CACHE = "ags-{{ version }}";
const ASSETS = [{% for a in assets %}"{{ a|escapejs }}", {% endfor %}"/manifest.webmanifest"];
const DAY_PAGE = /^\/children\/(\d+)\/diary\/$/;
const DAYS_PAGE = /^\/children\/\d+\/diary\/days\/$/;
const SHELL = /^\/children\/\d+\/diary\/offline\/$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("ags-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error) => { clearTimeout(timer); reject(error); });
  });
}

// A weak signal should not keep a parent waiting: after 6 s the copy on the phone is used.
async function dayPage(request, child) {
  try {
    return await withTimeout(fetch(request), 6000);
  } catch (error) {
    const path = `/children/${child}/diary/offline/`;
    const shell = (await (await caches.open(CACHE)).match(path)) || (await caches.match(path));
    if (shell) return shell;
    // Never the browser's error page: say what happened, in both of the app's languages.
    return new Response(NOT_KEPT, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
  }
}

const NOT_KEPT = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ not_kept_title|escapejs }}</title><main><h1>{{ not_kept_title|escapejs }}</h1>
<p>{{ not_kept_text|escapejs }}</p><p lang="fr">{{ not_kept_text_fr|escapejs }}</p></main>`;

async function daysPage(request) {
  const url = new URL(request.url);
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), 6000);
    if (response.ok && !response.redirected) cache.put(url.pathname, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(url.pathname);
    if (cached) return cached;
    throw error;
  }
}

async function keep(path) {
  const response = await fetch(path, {credentials: "same-origin"});
  if (response.ok && !response.redirected) await (await caches.open(CACHE)).put(path, response);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const day = url.pathname.match(DAY_PAGE);
  if (url.pathname.startsWith("{{ static_prefix|escapejs }}") || ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate" && day) {
    event.respondWith(dayPage(request, day[1]));
  } else if (request.mode === "navigate" && DAYS_PAGE.test(url.pathname)) {
    event.respondWith(daysPage(request));
  }
});

self.addEventListener("message", (event) => {
  // Sign-out: forget the pages kept for offline use (the unsent queue stays on the phone) and
  // stop this device's notifications (the server forgets it at the next push: 410 Gone).
  if (event.data === "forget-pages") {
    event.waitUntil(Promise.all([
      caches.delete(CACHE),
      self.registration.pushManager.getSubscription().then((sub) => sub && sub.unsubscribe()).catch(() => {}),
    ]));
  } else if (event.data && typeof event.data.keep === "string" && SHELL.test(event.data.keep)) {
    event.waitUntil(keep(event.data.keep).catch(() => {}));
  }
});

{# Reminders pushed by the server (Web Push): {title, body, url, tag}. The tag makes a repeat #}
{# replace the notification instead of adding a second one. #}
function notificationOf(data) {
  let message = {};
  try { message = data ? data.json() : {}; } catch (error) { message = {body: data.text()}; }
  const url = sameOrigin(message.url) || "/";
  return {
    title: String(message.title || "{{ app_name|escapejs }}"),
    options: {body: String(message.body || ""), tag: String(message.tag || url), data: {url}, icon: "{{ icon|escapejs }}"},
  };
}

{# Only a page of this site is ever opened from a notification. #}
function sameOrigin(url) {
  if (typeof url !== "string") return null;
  try {
    const target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.pathname + target.search : null;
  } catch (error) {
    return null;
  }
}

self.addEventListener("push", (event) => {
  const shown = notificationOf(event.data);
  event.waitUntil(self.registration.showNotification(shown.title, shown.options));
});

{# A tap opens the page the notification names: the window already showing it, else a window of #}
{# the diary moved there, else a new window. #}
async function openPage(url) {
  const target = new URL(sameOrigin(url) || "/", self.location.origin).href;
  const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  const showing = windows.find((client) => client.url === target);
  if (showing) {
    try { await showing.focus(); } catch (error) { /* focus needs the tap's permission */ }
    return showing;
  }
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    try {
      const moved = await client.navigate(target);
      if (moved) {
        try { await moved.focus(); } catch (error) { /* as above */ }
        return moved;
      }
    } catch (error) { /* a window this worker does not control: open a new one */ }
  }
  return self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openPage(event.notification.data && event.notification.data.url));
});
