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
  // Sign-out: forget the pages kept for offline use (the unsent queue stays on the phone).
  if (event.data === "forget-pages") {
    event.waitUntil(caches.delete(CACHE));
  } else if (event.data && typeof event.data.keep === "string" && SHELL.test(event.data.keep)) {
    event.waitUntil(keep(event.data.keep).catch(() => {}));
  }
});
