// The app's service worker (issue 22): after one visit the app opens with neither its web
// server nor its broker reachable, and a new version never mixes with the old one.
//
// scripts/build-wasm writes dist/sw.js: `VERSION` (a hash of every file of the build) and
// `FILES` (their paths) first, then this file. A release build's worker keeps that build's
// files in a cache of its own and answers every request of the app from it; a new build's
// worker fills its own cache beside it and waits until the page says the user chose to
// reload (the page shows "a new version is ready: reload"). A debug build (`trunk serve`)
// gets a worker that caches nothing and removes itself, so development never sees stale code.

// Cache Storage is the origin's: named by the scope too, so two deployments on one origin
// (`/chat/`, `/chat-beta/`) never remove each other's.
const PREFIX = `mqtt-chat-${new URL(self.registration.scope).pathname}-`;
const CACHE = `${PREFIX}${VERSION}`;

if (!CACHING) {
  // Debug build: take over at once, drop every cache and this registration.
  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX)).map((k) => caches.delete(k))))
        .then(() => self.registration.unregister()),
    );
  });
} else {
  // The page must be this build's: it loads this build's folder of Wasm.
  const folder = (FILES.find((f) => f.startsWith("wasm-")) || "").split("/")[0];

  self.addEventListener("install", (event) => {
    // Every file of this build, or none: a build missing a file, or a page of another build
    // (a deploy landing meanwhile), never takes over. Past the HTTP cache, which may hold
    // the previous build's page.
    event.waitUntil(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          // Each body is taken as soon as it comes: a browser has few connections to a
          // host, and bodies left unread would hold them all.
          await Promise.all(
            ["./", ...FILES].map(async (file) => {
              const request = new Request(file, { cache: "reload" });
              const answer = await fetch(request);
              if (!answer.ok) throw new Error(`${file}: ${answer.status}`);
              const page = file === "./" && folder ? answer.clone().text() : null;
              await cache.put(request, answer);
              if (page && !(await page).includes(folder)) throw new Error("the page is not this build's");
            }),
          );
        } catch (e) {
          await caches.delete(CACHE);
          throw e;
        }
      })(),
    );
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
          Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))),
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
