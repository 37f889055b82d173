// Offline support: assets cache-first, diary pages network-first with a cached fallback.
"use strict";
const CACHE = "ags-{{ version }}";
const ASSETS = [{% for a in assets %}"{{ a|escapejs }}", {% endfor %}"/manifest.webmanifest"];
const DIARY_PAGE = /^\/children\/\d+\/diary\/(days\/)?$/;

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

async function diaryPage(request) {
  const url = new URL(request.url);
  const cache = await caches.open(CACHE);
  try {
    // A weak signal should not keep a parent waiting: fall back to the copy on the phone.
    const response = await withTimeout(fetch(request), 6000);
    if (response.ok && !response.redirected) {
      cache.put(request, response.clone());
      if (!url.search) cache.put(url.pathname, response.clone());
    }
    return response;
  } catch (error) {
    const cached = (await cache.match(request)) || (await cache.match(url.pathname));
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("{{ static_prefix|escapejs }}") || ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate" && DIARY_PAGE.test(url.pathname)) {
    event.respondWith(diaryPage(request));
  }
});

self.addEventListener("message", (event) => {
  // Sign-out: forget the pages kept for offline use (the unsent queue stays on the phone).
  if (event.data === "forget-pages") {
    event.waitUntil(caches.delete(CACHE));
  }
});
