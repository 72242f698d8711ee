// The app's service worker (issue 22): after one visit the app opens with neither its web
// server nor its broker reachable, and a new version never mixes with the old one.
//
// scripts/build-wasm writes dist/sw.js: `VERSION` (a hash of every file of the build) and
// `FILES` (their paths) first, then this file. A release build's worker keeps that build's
// files in a cache of its own and answers every request of the app from it; a new build's
// worker fills its own cache beside it and waits until the page says the user chose to
// reload (the page shows "a new version is ready: reload"). A debug build (`trunk serve`)
// gets a worker that caches nothing and removes itself, so development never sees stale code.

const CACHE = `mqtt-chat-${VERSION}`;

if (!CACHING) {
  // Debug build: take over at once, drop every cache and this registration.
  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((keys) => Promise.all(keys.filter((k) => k.startsWith("mqtt-chat-")).map((k) => caches.delete(k))))
        .then(() => self.registration.unregister()),
    );
  });
} else {
  self.addEventListener("install", (event) => {
    // Every file of this build, or none: a build missing a file never takes over.
    event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(["./", ...FILES])));
  });

  // The page sends this when the user chose to reload into the new version.
  self.addEventListener("message", (event) => {
    if (event.data === "skip-waiting") self.skipWaiting();
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((keys) =>
          Promise.all(keys.filter((k) => k.startsWith("mqtt-chat-") && k !== CACHE).map((k) => caches.delete(k))),
        )
        .then(() => self.clients.claim()),
    );
  });

  // The app's page: the scope itself, or its index.html.
  const scope = new URL(self.registration.scope).pathname;
  const isApp = (url) => url.pathname === scope || url.pathname === `${scope}index.html`;

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== self.location.origin) return;
    // The app's page (any query: `?broker=…`) is this build's page; its files are this
    // build's. Anything else on the origin (another page) is the server's.
    const key = request.mode === "navigate" && isApp(url) ? "./" : request;
    event.respondWith(
      caches
        .open(CACHE)
        .then((cache) => cache.match(key))
        .then((hit) => hit || fetch(request)),
    );
  });
}
