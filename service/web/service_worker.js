// The service worker (ADR 0044). CACHE_NAME, OFFLINE_URL and PRECACHE are written
// above this line by service/web/assets.py: the fingerprinted layout files and the
// offline page. Pages are always fetched from the network (they are never cached:
// they hold a member's own figures); only when the network fails does a page
// request get the offline page. Everything works without this worker.
"use strict";

const FINGERPRINTED = /^\/static\/.+\.[0-9a-f]{12}\.[a-z0-9]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE_NAME).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("timebank-") && name !== CACHE_NAME)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.match(OFFLINE_URL, { ignoreSearch: true }))
    );
    return;
  }
  const url = new URL(request.url);
  if (url.origin === self.location.origin && FINGERPRINTED.test(url.pathname)) {
    // A fingerprinted file never changes at its address: the cache may answer first.
    event.respondWith(
      caches.match(request).then((cached) => cached || fetch(request))
    );
  }
});
